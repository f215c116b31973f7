"""Reads of the directory's logins: who signs in as whom, with which roles and token, and
what was changed about a login."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.db.models.functions import Lower

from .. import access
from ..models import Person
from .use_cases import contains_all

HISTORY_SHOWN = 50


def people_matching(text: str) -> QuerySet[Person]:
    """People whose name or email holds each word of `text`, by email."""
    return contains_all(Person.objects.select_related("business_unit").order_by("email"), text.split(), ("name", "email"))


def logins_by_email(emails) -> dict:
    """The login of each email (lower-case), with `role_names` and `has_token`: two queries."""
    users = (get_user_model().objects.annotate(lower_email=Lower("email")).filter(lower_email__in=list(emails))
             .select_related("auth_token").prefetch_related("groups").order_by("pk"))
    found = {}
    for user in users:
        found.setdefault(user.lower_email, user)
        user.role_names = [g.name for g in user.groups.all() if g.name in access.ROLE_GROUPS]
        user.has_token = hasattr(user, "auth_token")
    return found


def login_history(user) -> QuerySet[LogEntry]:
    """The latest changes made to the login (newest first)."""
    return (LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(user), object_id=str(user.pk))
            .select_related("user").order_by("-action_time")[:HISTORY_SHOWN])
