"""What the gates read besides the use case's own row, for selectors that judge many use cases."""

from django.db.models import Prefetch, QuerySet

from ..models import SignOff, StageTransition, UseCase, Waiver


def with_gate_facts(queryset: QuerySet[UseCase]) -> QuerySet[UseCase]:
    """`queryset` with the determinations, practices, waivers (and who granted them), sign-offs
    and transitions the gates and the sign-off fingerprint read, in a fixed number of queries."""
    return queryset.select_related("omb_determination", "eu_classification").prefetch_related(
        "practices", Prefetch("waivers", queryset=Waiver.objects.select_related("granted_by")),
        Prefetch("sign_offs", queryset=SignOff.objects.select_related("signed_by")),
        Prefetch("transitions", queryset=StageTransition.objects.select_related("actor").order_by("occurred_at", "id")),
    )
