"""What the gates read besides the use case's own row, for selectors that judge many use cases."""

from django.db.models import Prefetch, QuerySet

from ..models import SignOff, StageTransition, UseCase, Waiver


def with_gate_facts(queryset: QuerySet[UseCase]) -> QuerySet[UseCase]:
    """`queryset` with the determinations, practices, waivers (and who granted them), sign-offs
    and transitions the gates and the sign-off fingerprint read, in a fixed number of queries.
    The rows are lists (`registry.gates.gate_rows` reads them): kept as Django keeps a
    prefetched relation, each use case would get a queryset per relation built to hold them,
    20 ms for the 50 use cases of an owner's pending sign-offs."""
    return queryset.select_related("omb_determination", "eu_classification").prefetch_related(
        Prefetch("practices", to_attr="gate_practices"),
        Prefetch("waivers", queryset=Waiver.objects.select_related("granted_by"), to_attr="gate_waivers"),
        Prefetch("sign_offs", queryset=SignOff.objects.select_related("signed_by"), to_attr="gate_sign_offs"),
        Prefetch("transitions", queryset=StageTransition.objects.select_related("actor").order_by("occurred_at", "id"),
                 to_attr="gate_transitions"),
    )
