"""The one way to change a versioned record: lock it, check the version the caller read, bump
it, record who and why, save. Concurrent writers that read the same version cannot both win.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from .actors import acting, acting_user
from .errors import NotFound, StaleVersion


class VersionedWrite:
    """The locked current row (`current`) and `save`, which writes a new version of it."""

    def __init__(self, current: Model, *, actor, reason: str):
        self.current = current
        self.actor = actor
        self.reason = reason

    def save(self, instance: Model | None = None, *, fields: list[str] | None = None, reason: str = "",
             at=None) -> Model:
        """Save `instance` (default: the locked row) as the next version, changed `at` (default now).

        `fields` limits the UPDATE to those fields (version and updated_at are added).
        """
        instance = self.current if instance is None else instance
        instance.version = self.current.version + 1
        stamped = ["version"]
        if hasattr(instance, "updated_at"):
            instance.updated_at = at or timezone.now()
            stamped.append("updated_at")
        instance._history_user = acting_user(self.actor)
        if reason or self.reason:
            instance._change_reason = reason or self.reason
        instance.save(update_fields=[*fields, *stamped] if fields is not None else None)
        if instance is not self.current:
            self.current.version = instance.version
        return instance


@contextmanager
def versioned_write(queryset: QuerySet, pk, *, actor, expected_version: int | None = None, reason: str = ""):
    """Inside one transaction: lock row `pk` of `queryset`, refuse with StaleVersion when
    `expected_version` is given and differs, and yield a VersionedWrite to save with."""
    with transaction.atomic(), acting(actor):
        current = queryset.select_for_update(of=("self",)).filter(pk=pk).first()
        if current is None:
            raise NotFound(f"No {queryset.model._meta.verbose_name} with id {pk}.")
        if expected_version is not None and current.version != expected_version:
            raise StaleVersion(current, expected_version)
        yield VersionedWrite(current, actor=actor, reason=reason)
