"""Broken feedback loops: production use cases whose business metric nobody records."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.models import Policy
from portfolio.detectors import feedback_loops
from registry.services.lifecycle import move_use_case
from registry.models import Stage, StageTransition, UseCase
from registry.services.kpis import record_kpi_observation
from tests.dates import at, days
from registry.models import SIGN_OFF_STAGES
from tests.factories import TEST_ACTOR, signed_off
from tests.factories import KPIFactory, ProductionReadyUseCaseFactory, UseCaseFactory

pytestmark = pytest.mark.django_db

# Dates well before the wall clock, so that what the services date "now" lies after them.
LIVE = datetime.date(2025, 4, 7)




def detect(as_of, **policy_overrides):
    return feedback_loops.detect(as_of=as_of, policy=Policy(**policy_overrides))


def live_use_case(since: datetime.date = LIVE, **kwargs) -> UseCase:
    """A use case taken to production on `since` through the real lifecycle; its KPI defined before."""
    kwargs.setdefault("kpi__created_at", at(since - days(60)))
    use_case = ProductionReadyUseCaseFactory(**kwargs)
    for step, on in ((Stage.VALIDATING, since - days(60)), (Stage.PILOT, since - days(30)), (Stage.PRODUCTION, since)):
        if step in SIGN_OFF_STAGES:
            signed_off(use_case, step)
        use_case = move_use_case(use_case=use_case, to_stage=step, actor=TEST_ACTOR, on=at(on))
    return use_case


def observe(use_case: UseCase, on: datetime.date, value="0.2"):
    return record_kpi_observation(kpi=use_case.kpis.get(), observed_on=on, value=Decimal(value), actor=TEST_ACTOR)


# --- stale observations ----------------------------------------------------------------------


def test_a_kpi_observed_exactly_90_days_ago_is_fine():
    use_case = live_use_case()
    observe(use_case, LIVE + days(10))

    assert detect(LIVE + days(100)) == []


def test_a_kpi_last_observed_91_days_ago_is_a_broken_feedback_loop():
    # given
    use_case = live_use_case(title="Churn model")
    use_case.kpis.update(name="Monthly churn")
    observe(use_case, LIVE + days(5))
    observe(use_case, LIVE + days(10))

    # when
    [found] = detect(LIVE + days(101))

    # then
    assert found.kind == "broken_feedback_loop"
    assert found.identity == (use_case.pk,)
    assert found.substance == ("stale_observation",)
    assert found.title == "'Churn model' has had no KPI observation for 91 days (limit 90)"
    assert found.use_case_ids == [use_case.pk]
    assert found.decision_ids == [use_case.decision_id]
    assert found.severity == "low"
    assert found.detail["problem"] == "stale_observation"
    assert found.detail["kpis"] == ["Monthly churn"]
    assert found.detail["last_observation"] == (LIVE + days(10)).isoformat()
    assert found.detail["days_since_observation"] == 91


def test_the_latest_observation_of_any_kpi_counts():
    use_case = live_use_case()
    second = KPIFactory(use_case=use_case, name="Retention revenue", created_at=at(LIVE))
    record_kpi_observation(kpi=second, observed_on=LIVE + days(50), value=Decimal("1"), actor=TEST_ACTOR)

    assert detect(LIVE + days(140)) == []
    [found] = detect(LIVE + days(141))
    assert found.detail["kpis"] == sorted(use_case.kpis.values_list("name", flat=True))
    assert found.detail["last_observation"] == (LIVE + days(50)).isoformat()


def test_the_window_comes_from_the_policy():
    use_case = live_use_case()
    observe(use_case, LIVE + days(10))

    assert detect(LIVE + days(40), kpi_observation_days=30) == []
    assert len(detect(LIVE + days(41), kpi_observation_days=30)) == 1


def test_a_long_unobserved_kpi_is_more_severe():
    use_case = live_use_case()
    observe(use_case, LIVE + days(10))

    assert detect(LIVE + days(10 + 179))[0].severity == "low"
    assert detect(LIVE + days(10 + 180))[0].severity == "medium"


def test_a_valuable_use_case_is_more_severe():
    use_case = live_use_case(expected_annual_value=Decimal("2500000"))
    observe(use_case, LIVE + days(10))

    assert detect(LIVE + days(101))[0].severity == "medium"


# --- newly live, never observed ----------------------------------------------------------


def test_a_use_case_live_for_less_than_the_window_is_not_flagged_for_a_missing_observation():
    live_use_case()

    assert detect(LIVE + days(90)) == []


def test_a_use_case_live_for_91_days_without_any_observation_is_flagged():
    use_case = live_use_case(title="Churn model")

    [found] = detect(LIVE + days(91))

    assert found.identity == (use_case.pk,)
    assert found.substance == ("no_observation",)
    assert found.title == "'Churn model' has been in production for 91 days without a KPI observation (limit 90)"
    assert found.severity == "medium"
    assert found.detail["last_observation"] is None
    assert found.detail["days_since_observation"] is None
    assert found.detail["kpis"] == [use_case.kpis.get().name]


def test_observations_from_the_pilot_do_not_end_the_grace_period_after_going_live():
    # given a use case observed during its pilot, 80 days before it went live
    use_case = live_use_case()
    observe(use_case, LIVE - days(80))

    # then it has the full window after going live, and is then stale
    assert detect(LIVE + days(90)) == []
    [found] = detect(LIVE + days(91))
    assert found.detail["problem"] == "stale_observation"
    assert found.detail["days_since_observation"] == 171


# --- no KPI --------------------------------------------------------------------------------


def use_case_live_without_kpi(since=LIVE, **kwargs) -> UseCase:
    """Production without a KPI: possible through an import (the gate applies in the product)."""
    use_case = UseCaseFactory(stage=Stage.PRODUCTION, stage_entered_on=since, **kwargs)
    StageTransition.objects.create(use_case=use_case, from_stage="", to_stage=Stage.PRODUCTION, occurred_at=at(since),
                                   source="import")
    return use_case


def test_a_use_case_in_production_without_a_kpi_is_flagged_at_once():
    use_case = use_case_live_without_kpi(title="Churn model")

    [found] = detect(LIVE)

    assert found.identity == (use_case.pk,)
    assert found.substance == ("no_kpi",)
    assert found.title == "'Churn model' is in production with no KPI"
    assert found.severity == "high"
    assert found.detail["kpis"] == []
    assert found.detail["last_observation"] is None


def test_a_kpi_defined_after_the_judged_date_does_not_count():
    use_case = use_case_live_without_kpi()
    KPIFactory(use_case=use_case, created_at=at(LIVE + days(20)))

    assert [f.detail["problem"] for f in detect(LIVE + days(19))] == ["no_kpi"]
    assert detect(LIVE + days(20)) == []


# --- the judged date -------------------------------------------------------------------------


def test_an_observation_after_the_judged_date_does_not_count():
    use_case = live_use_case()
    observe(use_case, LIVE + days(10))
    observe(use_case, LIVE + days(120))

    [found] = detect(LIVE + days(101))
    assert found.detail["last_observation"] == (LIVE + days(10)).isoformat()


def test_only_use_cases_in_production_on_the_judged_date_are_judged():
    # given a use case that went live on LIVE and was retired 200 days later, never observed
    use_case = live_use_case()
    move_use_case(use_case=use_case, to_stage=Stage.RETIRED, actor=TEST_ACTOR, reason="replaced", on=at(LIVE + days(200)))

    # then before going live and after retiring it is not judged; in between it is
    assert detect(LIVE - days(1)) == []
    assert len(detect(LIVE + days(199))) == 1
    assert detect(LIVE + days(200)) == []


def test_pilots_are_not_judged():
    use_case = ProductionReadyUseCaseFactory()
    for step in (Stage.VALIDATING, Stage.PILOT):
        if step in SIGN_OFF_STAGES:
            signed_off(use_case, step)
        move_use_case(use_case=use_case, to_stage=step, actor=TEST_ACTOR, on=at(LIVE - days(300)))

    assert detect(LIVE) == []


# --- scale and determinism ---------------------------------------------------------------


def test_findings_come_sorted_by_use_case():
    use_cases = [live_use_case() for _ in range(3)] + [use_case_live_without_kpi()]

    found = detect(LIVE + days(200))

    assert [f.identity for f in found] == sorted((uc.pk,) for uc in use_cases)


def _queries_for_portfolio_of(size: int) -> int:
    for index in range(size):
        use_case = live_use_case()
        observe(use_case, LIVE + days(index))
        KPIFactory(use_case=use_case, created_at=at(LIVE))
        use_case_live_without_kpi()
    with CaptureQueriesContext(connection) as queries:
        found = detect(LIVE + days(200))
    assert len(found) >= 2 * size
    return len(queries)


@pytest.mark.slow
def test_the_number_of_queries_does_not_grow_with_the_portfolio():
    small = _queries_for_portfolio_of(3)
    large = _queries_for_portfolio_of(27)  # 30 in all

    assert large == small
