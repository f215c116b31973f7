"""What the gates read besides the use case's own row, for selectors that judge many use cases."""

from django.db.models import Prefetch, QuerySet

from ..models import SignOff, StageTransition, UseCase


def with_gate_facts(queryset: QuerySet[UseCase]) -> QuerySet[UseCase]:
    """`queryset` with the determinations, practices, waivers, sign-offs and transitions the
    gates and the sign-off fingerprint read, in a fixed number of queries."""
    return queryset.select_related("omb_determination", "eu_classification").prefetch_related(
        "practices", "waivers",
        Prefetch("sign_offs", queryset=SignOff.objects.select_related("signed_by")),
        Prefetch("transitions", queryset=StageTransition.objects.select_related("actor").order_by("occurred_at", "id")),
    )
