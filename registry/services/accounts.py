"""Logins, their roles and their API tokens: kept by the program office, each change written
to the login's history (the admin's log of that user, who did it and what)."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from core.actors import acting_user
from core.errors import InvalidInput
from core.text import normalise_email

from .. import access
from ..models import Person
from .directory import upsert_person

KEEPER_ONLY = "Logins, roles and API tokens are kept by the program office."


def _require_keeper(actor) -> None:
    access.require(access.can_change_directory(actor), KEEPER_ONLY)


def _record(actor, user, flag: int, message: str) -> None:
    """The change in the login's history; a change the system makes is in its own log instead."""
    by = acting_user(actor)
    if by is not None:
        LogEntry.objects.log_actions(by.pk, [user], flag, change_message=message, single_object=True)


def login_for(person: Person):
    """The login whose email is the person's (None if they have none)."""
    return get_user_model().objects.filter(email__iexact=person.email).order_by("pk").first()


def create_login(*, person: Person, username: str, actor, password: str = ""):
    """A login for `person`, signing in as `username`; without a password they set one
    through "forgot password" (the login's email is the person's)."""
    _require_keeper(actor)
    User = get_user_model()
    username = (username or "").strip()
    field = User._meta.get_field("username")
    if not username:
        raise InvalidInput("A login needs a username.", field="username")
    if len(username) > field.max_length:
        raise InvalidInput(f"A username has at most {field.max_length} characters.", field="username")
    for validator in field.validators:
        try:
            validator(username)
        except ValidationError as error:
            raise InvalidInput(" ".join(error.messages), field="username") from None
    if not person.active:
        raise InvalidInput(f"{person.email} has left (inactive): no login for them.", field="username")
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise InvalidInput(f"The username {username} is taken.", field="username")
        if login_for(person) is not None:
            raise InvalidInput(f"{person.email} has a login already.", field="username")
        user = User(username=username, email=normalise_email(person.email), is_active=True, is_staff=True)
        user.first_name, _, user.last_name = person.name.partition(" ")
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        _record(actor, user, ADDITION, f"Login created for {person.email}.")
    return user


def set_roles(*, user, roles, actor) -> tuple[list[str], list[str]]:
    """Give `user` exactly the role groups `roles`; returns (granted, removed)."""
    _require_keeper(actor)
    unknown = set(roles) - set(access.ROLE_GROUPS)
    if unknown:
        raise InvalidInput(f"No such role: {', '.join(sorted(unknown))}.", field="roles")
    with transaction.atomic():
        held = set(user.groups.filter(name__in=access.ROLE_GROUPS).values_list("name", flat=True))
        granted, removed = sorted(set(roles) - held), sorted(held - set(roles))
        if granted:
            user.groups.add(*Group.objects.filter(name__in=granted))
        if removed:
            user.groups.remove(*Group.objects.filter(name__in=removed))
        if granted or removed:
            _record(actor, user, CHANGE, "; ".join(
                [f"Role granted: {role}" for role in granted] + [f"Role removed: {role}" for role in removed]) + ".")
    return granted, removed


def deactivate(*, person: Person, actor) -> None:
    """The person has left: inactive in the directory, their login can no longer sign in
    and their API token is revoked. What they did stays in the history."""
    _require_keeper(actor)
    with transaction.atomic():
        upsert_person(email=person.email, active=False, actor=actor)
        user = login_for(person)
        if user is not None and user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
            deleted, _ = Token.objects.filter(user=user).delete()
            _record(actor, user, CHANGE, "Login deactivated" + (" and its API token revoked." if deleted else "."))


def create_token(*, user, actor) -> str:
    """A new API token for `user`, replacing any they had; the key is shown once, by the caller."""
    _require_keeper(actor)
    if not user.is_active:
        raise InvalidInput(f"The login {user.get_username()} is deactivated: no token for it.", field="token")
    with transaction.atomic():
        replaced, _ = Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        _record(actor, user, CHANGE, "API token replaced." if replaced else "API token created.")
    return token.key


def revoke_token(*, user, actor) -> bool:
    """Revoke `user`'s API token; False when they had none."""
    _require_keeper(actor)
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user=user).delete()
        if deleted:
            _record(actor, user, CHANGE, "API token revoked.")
    return bool(deleted)


def add_person(*, email: str, name: str, actor, business_unit=None, username: str = "") -> Person:
    """A new person in the directory, with a login when `username` is given; all or nothing."""
    _require_keeper(actor)
    if Person.objects.filter(email=normalise_email(email)).exists():
        raise InvalidInput(f"{normalise_email(email)} is in the directory already.", field="email")
    with transaction.atomic():
        person, _ = upsert_person(email=email, name=name, business_unit=business_unit, actor=actor)
        if username:
            create_login(person=person, username=username, actor=actor)
    return person
