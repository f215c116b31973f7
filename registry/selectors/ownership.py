"""What a person owns, as filters: the use cases they are business or technical owner of, or
whose decision they own, and the decisions they own."""

from __future__ import annotations

from django.db.models import Q

from core.lookups import AnyOf

from ..models import Decision, Person


def owned_decision_ids(person: Person) -> list[int]:
    """One small query; keeps the use-case filter on indexed columns (no OR across a join)."""
    if not hasattr(person, "_owned_decision_ids"):
        person._owned_decision_ids = list(Decision.objects.filter(owner=person).values_list("pk", flat=True))
    return person._owned_decision_ids


def owned_by(person: Person) -> Q:
    """A filter on use cases: those `person` owns, directly or through their decision."""
    return Q(business_owner=person) | Q(technical_owner=person) | Q(AnyOf("decision_id", owned_decision_ids(person)))
