"""Missing decision: use cases under a placeholder decision, and their owners stating theirs."""

import datetime

import pytest

from portfolio.models import FindingKind, Policy
from portfolio.detectors import missing_decision
from registry.inventory.federal.mapping import PLACEHOLDER_STATEMENT
from core.errors import InvalidInput, StaleVersion
from registry.models import Decision, Stage, StageTransition
from registry.services.use_cases import state_decision
from tests.dates import at, days
from tests.factories import TEST_ACTOR
from tests.factories import BusinessUnitFactory, DecisionFactory, UseCaseFactory

pytestmark = pytest.mark.django_db

IMPORTED = datetime.date(2025, 6, 2)


def placeholder(unit=None):
    return DecisionFactory(statement=PLACEHOLDER_STATEMENT, business_unit=unit or BusinessUnitFactory(), owner=None,
                           is_defined=False, frequency="", cost_of_error=None)


def use_case_in(stage, *, decision, since=IMPORTED, **kwargs):
    use_case = UseCaseFactory(stage=stage, stage_entered_on=since, decision=decision, **kwargs)
    StageTransition.objects.create(use_case=use_case, from_stage="", to_stage=stage, occurred_at=at(since), source="import")
    return use_case


def detect(as_of=IMPORTED + days(1)):
    return missing_decision.detect(as_of=as_of, policy=Policy())


def test_each_live_use_case_under_a_placeholder_is_a_finding_graded_by_stage():
    waiting = placeholder()
    cases = {stage: use_case_in(stage, decision=waiting) for stage in Stage.values}

    found = {d.use_case_ids[0]: d for d in detect()}

    assert {pk: d.severity for pk, d in found.items()} == {
        cases[Stage.PROPOSED].pk: "low",
        cases[Stage.VALIDATING].pk: "medium",
        cases[Stage.PILOT].pk: "high",
        cases[Stage.PRODUCTION].pk: "high",
        cases[Stage.UNREPORTED].pk: "low",  # nothing is known of a stage not reported
    }  # retired is not judged
    one = found[cases[Stage.PILOT].pk]
    assert one.kind == FindingKind.MISSING_DECISION
    assert one.decision_ids == [waiting.pk]
    assert one.detail["stage"] == Stage.PILOT
    assert "serves no stated decision" in one.title


def test_use_cases_with_a_defined_decision_are_not_flagged():
    use_case_in(Stage.PILOT, decision=DecisionFactory())

    assert detect() == []


def test_judged_as_of_a_date_the_stage_then_counts_and_later_use_cases_are_ignored():
    waiting = placeholder()
    use_case = use_case_in(Stage.PILOT, decision=waiting)
    StageTransition.objects.create(use_case=use_case, from_stage=Stage.PILOT, to_stage=Stage.RETIRED,
                                   occurred_at=at(IMPORTED + days(10)), source="product")

    assert [d.severity for d in detect(IMPORTED + days(5))] == ["high"]
    assert detect(IMPORTED + days(11)) == []
    assert detect(IMPORTED - days(1)) == []


def test_stating_the_decision_moves_only_that_use_case_and_resolves_only_its_finding():
    # given two use cases of one agency waiting under its placeholder
    waiting = placeholder()
    first = use_case_in(Stage.PILOT, decision=waiting)
    second = use_case_in(Stage.PILOT, decision=waiting)

    # when the owner of the first states its decision
    decision = state_decision(use_case=first, statement="  Which grant  applications are reviewed first? ", actor=TEST_ACTOR,
                              on=IMPORTED)

    # then the first serves it, the second still waits, and only the second is flagged
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.decision == decision and decision.is_defined
    assert decision.statement == "Which grant applications are reviewed first?"
    assert decision.business_unit == first.business_unit
    assert (decision.owner, decision.owner_confirmed_on) == (first.business_owner, IMPORTED)
    assert second.decision == waiting
    assert Decision.objects.filter(pk=waiting.pk, is_defined=False).exists()
    assert [d.use_case_ids for d in detect()] == [[second.pk]]
    assert first.history.first().history_change_reason == "decision stated"


def test_stating_a_decision_the_unit_already_has_joins_it():
    unit = BusinessUnitFactory()
    existing = DecisionFactory(business_unit=unit, statement="Which claims are fast-tracked today?")
    use_case = use_case_in(Stage.VALIDATING, decision=placeholder(unit))

    decision = state_decision(use_case=use_case, statement="Which claims are fast-tracked today?", actor=TEST_ACTOR)

    assert decision == existing


@pytest.mark.parametrize("statement, message", [
    ("   ", "blank"),
    (PLACEHOLDER_STATEMENT, "placeholder"),
    ("x" * 301, "at most 300"),
])
def test_a_statement_that_names_no_decision_is_refused(statement, message):
    use_case = use_case_in(Stage.PILOT, decision=placeholder())

    with pytest.raises(InvalidInput, match=message):
        state_decision(use_case=use_case, statement=statement, actor=TEST_ACTOR)


def test_a_use_case_that_already_has_its_decision_is_refused():
    use_case = use_case_in(Stage.PILOT, decision=DecisionFactory())

    with pytest.raises(InvalidInput, match="already serves the decision"):
        state_decision(use_case=use_case, statement="Which invoices are paid first?", actor=TEST_ACTOR)


def test_a_stale_version_is_refused():
    use_case = use_case_in(Stage.PILOT, decision=placeholder())

    with pytest.raises(StaleVersion):
        state_decision(use_case=use_case, statement="Which invoices are paid first?", actor=TEST_ACTOR,
                       expected_version=use_case.version + 1)


def test_a_placeholder_is_not_reported_as_a_decision_without_owner():
    from portfolio.detectors import orphaned_ownership

    use_case_in(Stage.PILOT, decision=placeholder(), business_owner_confirmed_on=IMPORTED,
                technical_owner_confirmed_on=IMPORTED)

    found = orphaned_ownership.detect(as_of=IMPORTED + days(1), policy=Policy())

    assert [d.identity[0] for d in found] == []
