"""The demo logins: office, owner and auditor, one per role, and admin, a superuser, sharing
one password."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from registry.access import AUDITOR, BUSINESS_OWNER, PROGRAM_OFFICE

DEMO_PASSWORD = "lastmile-demo"
# Each role's login, in the order they are created and listed.
USERNAMES = {PROGRAM_OFFICE: "office", BUSINESS_OWNER: "owner", AUDITOR: "auditor"}
# A superuser besides: the whole admin, which the role logins (staff, no superuser) see in part.
SUPERUSER_USERNAME = "admin"
SUPERUSER_EMAIL = "admin@lastmile.example"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    email: str
    name: str


def create_logins(people: Mapping[str, tuple[str, str]]) -> list[DemoLogin]:
    """The demo logins, one per role; `people` maps each role to the (email, name) of who logs in with it.

    Each is staff but no superuser, in its role's group only, with the demo password; then
    `admin`, a superuser of no group and no directory person. A login of the same username is
    taken over.
    """
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)
    logins = []
    for role, username in USERNAMES.items():
        email, name = people[role]
        user, _ = User.objects.get_or_create(username=username)
        user.email, user.password = email, password
        user.first_name, _, user.last_name = name.partition(" ")
        user.is_staff, user.is_active, user.is_superuser = True, True, False
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        logins.append(DemoLogin(username, role, email, name))
    admin, _ = User.objects.get_or_create(username=SUPERUSER_USERNAME)
    admin.email, admin.password, admin.first_name, admin.last_name = SUPERUSER_EMAIL, password, "Demo", "Administrator"
    admin.is_staff, admin.is_active, admin.is_superuser = True, True, True
    admin.save()
    admin.groups.clear()
    logins.append(DemoLogin(SUPERUSER_USERNAME, "superuser", SUPERUSER_EMAIL, "Demo Administrator"))
    return logins
