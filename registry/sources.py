"""Which facts each source of use cases can tell: the one table the scans ask before they call
something missing.

A use case knows its source by `UseCase.source_format`: blank for one registered in the pages
or the API (or written by a service), else the inventory format it was imported from
(`registry/inventory/formats.FORMATS`). A source either has a field for a fact or not:

| fact | pages, API, `contract` | `omb-2025`, `omb-2024` |
| --- | --- | --- |
| `decision` (the decision it serves) | yes | no: the OMB schema names none |
| `business_owner` (an accountable person) | yes | yes: `contact_email` |
| `technical_owner` (who runs it) | yes | no |
| `kpi` (the metric it must move) | yes | no |
| `stage` | yes | yes: `development_stage` (2024: `Stage of Development`) |
| `description` (what it does) | yes | yes: problem solved, benefits, outputs |
| `stage_date` (when a use case in pilot or production got there) | yes | yes: `operational_date` (2024: the stage dates) |

KPIs are no column of the contract file either, but the contract is our own registry's
format: its owners record KPIs in Last Mile, so a missing KPI there is theirs to fix.

A fact the source has **no field for** is not a per-row defect: the scans skip those rows and
report one `inventory_completeness` finding per (source, unit, fact). A **blank value** in a
field the source does have (`blank_checked`) is a real gap, reported per unit with its rows.
"""

from __future__ import annotations

from dataclasses import dataclass

DECISION = "decision"
BUSINESS_OWNER = "business_owner"
TECHNICAL_OWNER = "technical_owner"
KPI = "kpi"
STAGE = "stage"
DESCRIPTION = "description"
STAGE_DATE = "stage_date"
FACTS = (DECISION, BUSINESS_OWNER, TECHNICAL_OWNER, KPI, STAGE, DESCRIPTION, STAGE_DATE)

FACT_LABEL = {
    DECISION: "a decision",
    BUSINESS_OWNER: "a contact person",
    TECHNICAL_OWNER: "a technical owner",
    KPI: "a KPI",
    STAGE: "a stage",
    DESCRIPTION: "a description",
    STAGE_DATE: "the date its stage began",
}


@dataclass(frozen=True)
class Source:
    name: str  # the `source_format` value; blank for the pages and the API
    label: str  # how a sentence names it: "the OMB 2025 inventory"
    carries: frozenset[str]
    # Carried facts whose blank value an imported row can show, and the source column of the stage.
    blank_checked: tuple[str, ...] = ()
    stage_column: str = ""

    def has_field_for(self, fact: str) -> bool:
        return fact in self.carries


PRODUCT = Source("", "the pages and the API", frozenset(FACTS))
CONTRACT = Source("contract", "the contract import", frozenset(FACTS))
OMB_2025 = Source(
    "omb-2025", "the OMB 2025 inventory", frozenset({BUSINESS_OWNER, STAGE, DESCRIPTION, STAGE_DATE}),
    blank_checked=(BUSINESS_OWNER, STAGE, DESCRIPTION, STAGE_DATE), stage_column="development_stage",
)
OMB_2024 = Source(
    "omb-2024", "the OMB 2024 inventory", frozenset({BUSINESS_OWNER, STAGE, DESCRIPTION, STAGE_DATE}),
    blank_checked=(BUSINESS_OWNER, STAGE, DESCRIPTION, STAGE_DATE), stage_column="Stage of Development",
)

SOURCES: dict[str, Source] = {source.name: source for source in (PRODUCT, CONTRACT, OMB_2025, OMB_2024)}


def source_of(source_format: str | None) -> Source:
    """The source a use case came from; an unknown name is treated as one that carries everything."""
    return SOURCES.get(source_format or "", PRODUCT)


def carries(source_format: str | None, fact: str) -> bool:
    return source_of(source_format).has_field_for(fact)


def formats_lacking(fact: str) -> list[str]:
    """The `source_format` values of the sources with no field for `fact` (for a query's exclude)."""
    return sorted(name for name, source in SOURCES.items() if not source.has_field_for(fact))
