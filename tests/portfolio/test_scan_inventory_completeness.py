"""Inventory completeness: a fact the source has no field for is one finding per (source, unit,
fact), not a defect of each row; a blank in a field the source has is a gap reported per unit."""

import datetime

import pytest

from portfolio.detectors import feedback_loops, inventory_completeness, missing_decision, orphaned_ownership
from portfolio.models import FindingKind, Policy
from registry import sources
from registry.inventory.federal.mapping import PLACEHOLDER_STATEMENT
from registry.models import Stage, StageTransition
from tests.dates import at, days
from tests.factories import BusinessUnitFactory, DecisionFactory, KPIFactory, PersonFactory, UseCaseFactory

pytestmark = pytest.mark.django_db

IMPORTED = datetime.date(2025, 6, 2)
AS_OF = IMPORTED + days(1)


def placeholder(unit):
    return DecisionFactory(statement=PLACEHOLDER_STATEMENT, business_unit=unit, owner=None, is_defined=False,
                           frequency="", cost_of_error=None)


def imported(stage, *, unit, source="omb-2025", decision=None, owner="default", record=None, **kwargs):
    owner = PersonFactory() if owner == "default" else owner
    use_case = UseCaseFactory(
        stage=stage, stage_entered_on=IMPORTED, business_unit=unit, decision=decision or placeholder_of(unit),
        business_owner=owner, business_owner_confirmed_on=IMPORTED if owner else None,
        technical_owner=None, technical_owner_confirmed_on=None, source_format=source,
        source_record=record if record is not None else {"development_stage": "Deployed"},
        summary=kwargs.pop("summary", "Reads forms."), **kwargs,
    )
    StageTransition.objects.create(use_case=use_case, from_stage="", to_stage=stage, occurred_at=at(IMPORTED),
                                   source="import")
    return use_case


_placeholders = {}


def placeholder_of(unit):
    if unit.pk not in _placeholders or _placeholders[unit.pk].business_unit_id != unit.pk:
        _placeholders[unit.pk] = placeholder(unit)
    return _placeholders[unit.pk]


@pytest.fixture(autouse=True)
def _fresh_placeholders():
    _placeholders.clear()


def detect(kind=inventory_completeness):
    return kind.detect(as_of=AS_OF, policy=Policy())


def by_fact(found):
    return {(d.detail["problem"], d.detail["fact"], d.detail["business_unit"]): d for d in found}


def test_the_sources_table_says_what_omb_lacks_and_the_product_carries_everything():
    assert not sources.carries("omb-2025", sources.DECISION)
    assert not sources.carries("omb-2024", sources.TECHNICAL_OWNER)
    assert not sources.carries("omb-2025", sources.KPI)
    assert sources.carries("omb-2025", sources.BUSINESS_OWNER)
    assert all(sources.carries(name, fact) for name in ("", "contract", None) for fact in sources.FACTS)
    assert sources.formats_lacking(sources.DECISION) == ["omb-2024", "omb-2025"]


def test_facts_the_format_lacks_are_one_low_finding_per_unit_not_one_per_row():
    nasa, doe = BusinessUnitFactory(name="NASA"), BusinessUnitFactory(name="DOE")
    deployed = [imported(Stage.PRODUCTION, unit=nasa) for _ in range(3)]
    piloting = imported(Stage.PILOT, unit=nasa)
    retired = imported(Stage.RETIRED, unit=nasa)
    other = imported(Stage.VALIDATING, unit=doe)

    found = by_fact(detect())

    no_decision = found[("no_field", "decision", "NASA")]
    assert no_decision.kind == FindingKind.INVENTORY_COMPLETENESS
    assert no_decision.severity == "low"
    assert no_decision.use_case_ids == sorted(u.pk for u in [*deployed, piloting])  # retired is not judged
    assert retired.pk not in no_decision.use_case_ids
    assert no_decision.title.startswith("4 use cases of NASA from the OMB 2025 inventory state no decision")
    assert "the format has no such field" in no_decision.title
    assert found[("no_field", "technical_owner", "NASA")].use_case_ids == sorted(u.pk for u in deployed)
    assert found[("no_field", "kpi", "NASA")].detail["count"] == 3
    assert found[("no_field", "decision", "DOE")].use_case_ids == [other.pk]
    assert found[("no_field", "decision", "DOE")].title.startswith(
        "1 use case of DOE from the OMB 2025 inventory states no decision")
    assert ("no_field", "technical_owner", "DOE") not in found  # not in production: the rule would not ask

    # …and the per-row scans stay silent about those facts
    assert detect(missing_decision) == []
    assert detect(feedback_loops) == []
    assert [d for d in detect(orphaned_ownership) if d.detail["role"] == "technical_owner"] == []


def test_a_fact_held_in_the_product_leaves_the_finding():
    nasa = BusinessUnitFactory(name="NASA")
    stated = imported(Stage.PRODUCTION, unit=nasa, decision=DecisionFactory(business_unit=nasa))
    measured = imported(Stage.PRODUCTION, unit=nasa)
    KPIFactory(use_case=measured)

    found = by_fact(detect())

    assert stated.pk not in found[("no_field", "decision", "NASA")].use_case_ids
    assert found[("no_field", "kpi", "NASA")].use_case_ids == [stated.pk]
    assert measured.pk not in found[("no_field", "kpi", "NASA")].use_case_ids


def test_blanks_in_fields_the_source_has_are_gaps_per_unit_with_their_rows():
    sec = BusinessUnitFactory(name="SEC")
    no_contact = imported(Stage.VALIDATING, unit=sec, owner=None)
    no_stage = imported(Stage.PROPOSED, unit=sec, record={"development_stage": ""})
    no_description = imported(Stage.PILOT, unit=sec, summary="")
    imported(Stage.PILOT, unit=sec)

    found = by_fact(detect())

    assert found[("blank", "business_owner", "SEC")].use_case_ids == [no_contact.pk]
    assert found[("blank", "business_owner", "SEC")].severity == "medium"
    assert found[("blank", "stage", "SEC")].use_case_ids == [no_stage.pk]
    assert found[("blank", "stage", "SEC")].title == "1 use case of SEC from the OMB 2025 inventory reports no stage (shown as \"Stage not reported\", not as proposed)"
    assert found[("blank", "description", "SEC")].title.startswith("1 use case of SEC from the OMB 2025 inventory has no description")
    assert found[("blank", "business_owner", "SEC")].title.startswith("1 use case of SEC from the OMB 2025 inventory names no contact")
    assert found[("blank", "description", "SEC")].use_case_ids == [no_description.pk]
    assert found[("blank", "description", "SEC")].severity == "low"


def test_use_cases_from_the_pages_or_the_contract_are_not_judged_here():
    unit = BusinessUnitFactory()
    imported(Stage.PRODUCTION, unit=unit, source="", owner=None, decision=placeholder(unit))
    imported(Stage.PRODUCTION, unit=unit, source="contract", owner=None, decision=DecisionFactory(business_unit=unit))

    assert detect() == []
    assert {d.detail["role"] for d in detect(orphaned_ownership)} >= {"technical_owner"}
    assert len(detect(missing_decision)) == 1
