"""Missing decision: a use case that serves no stated decision on the judged date.

In a decision-first registry a use case without its decision is the first thing to fix:
nobody can say what it should change, so nobody can tell whether it is worth running. An
imported inventory that names no decision (the US federal one) puts its use cases under
their unit's placeholder decision (`Decision.is_defined` false); this scan asks each of
their owners to state the decision, which they do from their home page
(`registry.services.state_decision`).

Which use cases: those under a placeholder decision, from a source that has a decision field
(`registry.sources`: the OMB inventories have none, so their rows are one
`inventory_completeness` finding per unit instead), that exist and are not retired on
`as_of` (their stage comes from the stage transitions, as in the stalled-pilot scan). One
finding per use case, not per placeholder: each owner answers for their own use case, and
stating one decision resolves that finding only.

Judging as of a date: the decision a use case serves is taken as it is now (relinks after
`as_of` are not reconstructed), as the orphaned-ownership scan takes owners.

Severity grows with how far the use case got without a decision:

- proposed → low: the decision can still be stated before any work is done;
- validating → medium: data and the execution point are being validated for a decision
  nobody has named;
- pilot → high: a pilot is judged by the decision it improves; without one its result
  cannot be read, and the use case cannot pass the gate into production on evidence;
- production → high, one level up from medium for being built and run: value is being
  claimed by a system whose decision (owner, cost of error, cost of delay) is unknown.
  Not critical: nothing is broken that was working; critical stays for what is failing now.

Identity: (use case id). Substance: (decision id), so a use case moved to another
placeholder (its unit changed) reopens a dismissed finding.
"""

from __future__ import annotations

import datetime

from portfolio.models import FindingKind, Severity
from registry import sources
from registry.models import Stage, UseCase

from .base import LIVE_STAGES, Detected, stage_on

KIND = FindingKind.MISSING_DECISION


SEVERITY_BY_STAGE = {
    Stage.UNREPORTED: Severity.LOW,
    Stage.PROPOSED: Severity.LOW,
    Stage.VALIDATING: Severity.MEDIUM,
    Stage.PILOT: Severity.HIGH,
    Stage.PRODUCTION: Severity.HIGH,
}


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    rows = (
        UseCase.objects.order_by()
        .filter(decision__is_defined=False)
        # A source with no decision field (the OMB inventories): one inventory_completeness finding per unit.
        .exclude(source_format__in=sources.formats_lacking(sources.DECISION))
        .annotate(stage_on=stage_on(as_of))
        .filter(stage_on__in=LIVE_STAGES)
        .values_list("pk", "external_id", "title", "decision_id", "business_unit__name", "business_owner__email", "stage_on")
    )
    found = [
        Detected(
            kind=KIND,
            identity=(pk,),
            substance=(decision_id,),
            severity=SEVERITY_BY_STAGE[stage],
            title=f"'{title}' serves no stated decision: its owner should name the decision it changes"[:300],
            use_case_ids=[pk],
            decision_ids=[decision_id],
            detail={
                "use_case": external_id or str(pk),
                "stage": stage,
                "business_unit": unit,
                "owner": owner,
            },
        )
        for pk, external_id, title, decision_id, unit, owner, stage in rows
    ]
    found.sort(key=lambda d: d.identity)
    return found
