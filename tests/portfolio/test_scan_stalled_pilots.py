"""Stalled pilots: what the program office sees about use cases stuck in pilot or validating."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.models import Policy
from portfolio.detectors import stalled_pilots
from registry.services.lifecycle import move_use_case
from registry.models import Frequency, Stage
from registry.services.kpis import record_kpi_observation
from tests.dates import DAY, at, days
from registry.models import SIGN_OFF_STAGES
from tests.factories import TEST_ACTOR, signed_off
from tests.factories import DecisionFactory, KPIFactory, ProductionReadyUseCaseFactory

pytestmark = pytest.mark.django_db

# Every date lies well before the wall clock: history records the services write "now"
# come after each judged date and so never count, unless a test dates them itself.
ENTERED = datetime.date(2025, 3, 3)

# Only one rule at a time: the other limit far away.
STAGE_RULE_ONLY = dict(inactivity_days=10_000)
INACTIVITY_RULE_ONLY = dict(pilot_max_days=10_000, validating_max_days=10_000)



def policy(**overrides) -> Policy:
    return Policy(**overrides)


def detect(as_of, **policy_overrides):
    return stalled_pilots.detect(as_of=as_of, policy=policy(**policy_overrides))


def in_validating(since: datetime.date, **factory_kwargs):
    use_case = ProductionReadyUseCaseFactory(**factory_kwargs)
    return move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR, on=at(since))


def in_pilot(since: datetime.date, **factory_kwargs):
    use_case = in_validating(since - 20 * DAY, **factory_kwargs)
    signed_off(use_case, Stage.PILOT)
    return move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR, on=at(since))



# --- over the stage limit -----------------------------------------------------------------


def test_a_pilot_exactly_at_its_90_day_limit_is_not_stalled():
    in_pilot(ENTERED)

    assert detect(ENTERED + days(90), **STAGE_RULE_ONLY) == []


def test_a_pilot_one_day_over_its_limit_is_stalled_and_says_for_how_long():
    # given
    use_case = in_pilot(ENTERED, title="Churn model")

    # when
    [found] = detect(ENTERED + days(91), **STAGE_RULE_ONLY)

    # then
    assert found.kind == "stalled_pilot"
    assert found.title == "'Churn model' has been in pilot for 91 days (limit 90)"
    assert found.use_case_ids == [use_case.pk]
    assert found.decision_ids == [use_case.decision_id]
    assert found.identity == (use_case.pk, "pilot", ENTERED.isoformat())
    assert found.substance == ("pilot", ENTERED.isoformat())
    assert found.detail["stage"] == "pilot"
    assert found.detail["days_in_stage"] == 91
    assert found.detail["limit_days"] == 90
    assert found.detail["last_activity"] == ENTERED.isoformat()
    assert found.detail["last_activity_kind"] == "stage_move"
    assert found.detail["reasons"] == ["in pilot for 91 days, 1 over the limit of 90"]


def test_validating_exactly_at_its_60_day_limit_is_not_stalled_one_day_later_it_is():
    in_validating(ENTERED, title="Claims triage")

    assert detect(ENTERED + days(60), **STAGE_RULE_ONLY) == []
    [found] = detect(ENTERED + days(61), **STAGE_RULE_ONLY)
    assert found.title == "'Claims triage' has been in validating for 61 days (limit 60)"
    assert found.detail["limit_days"] == 60


def test_the_limits_come_from_the_policy():
    in_pilot(ENTERED)

    assert detect(ENTERED + days(30), pilot_max_days=30, inactivity_days=10_000) == []
    assert len(detect(ENTERED + days(31), pilot_max_days=30, inactivity_days=10_000)) == 1


def test_activity_does_not_reset_the_stage_limit():
    # given a pilot whose KPI is observed every week
    use_case = in_pilot(ENTERED)
    kpi = use_case.kpis.get()
    for week in range(14):
        record_kpi_observation(kpi=kpi, observed_on=ENTERED + days(7 * week), value=Decimal("0.2"), actor=TEST_ACTOR)

    # when judged one day past the pilot limit
    [found] = detect(ENTERED + days(91))

    # then it is stalled for its time in stage alone
    assert found.detail["reasons"] == ["in pilot for 91 days, 1 over the limit of 90"]
    assert found.detail["last_activity_kind"] == "kpi_observation"


@pytest.mark.parametrize(
    "path", [[], [Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION], [Stage.RETIRED]], ids=["proposed", "production", "retired"]
)
def test_proposed_production_and_retired_use_cases_are_never_stalled_pilots(path):
    # given a use case registered long ago and moved along `path` the same day
    use_case = ProductionReadyUseCaseFactory()
    use_case.transitions.create(from_stage="", to_stage=Stage.PROPOSED, occurred_at=at(ENTERED, hour=9), source="import")
    for step in path:
        if step in SIGN_OFF_STAGES:
            signed_off(use_case, step)
        use_case = move_use_case(use_case=use_case, to_stage=step, actor=TEST_ACTOR, reason="no longer needed", on=at(ENTERED))

    # then it is never a stalled pilot
    assert detect(ENTERED + days(500)) == []


# --- no activity ----------------------------------------------------------------------------


def test_a_pilot_with_no_kpi_observation_for_exactly_60_days_is_not_stalled():
    use_case = in_pilot(ENTERED)
    record_kpi_observation(kpi=use_case.kpis.get(), observed_on=ENTERED + days(10), value=Decimal("1"), actor=TEST_ACTOR)

    assert detect(ENTERED + days(70), **INACTIVITY_RULE_ONLY) == []


def test_a_pilot_with_no_activity_for_61_days_is_stalled_naming_its_last_activity():
    # given
    use_case = in_pilot(ENTERED, title="Churn model")
    last = ENTERED + days(10)
    record_kpi_observation(kpi=use_case.kpis.get(), observed_on=last, value=Decimal("1"), actor=TEST_ACTOR)

    # when
    [found] = detect(last + days(61), **INACTIVITY_RULE_ONLY)

    # then
    assert found.title == "'Churn model' has shown no activity in pilot for 61 days (limit 60)"
    assert found.detail["days_since_activity"] == 61
    assert found.detail["last_activity"] == last.isoformat()
    assert found.detail["last_activity_kind"] == "kpi_observation"
    assert found.detail["days_in_stage"] == 71
    assert len(found.detail["reasons"]) == 1
    assert found.detail["reasons"][0].startswith("no activity for 61 days, 1 over the limit of 60")


def test_a_stage_move_is_activity():
    in_pilot(ENTERED)

    assert detect(ENTERED + days(60), **INACTIVITY_RULE_ONLY) == []
    [found] = detect(ENTERED + days(61), **INACTIVITY_RULE_ONLY)
    assert found.detail["last_activity_kind"] == "stage_move"


def test_an_edit_is_activity():
    # given a pilot edited 30 days after it started (its history record dated then)
    use_case = in_pilot(ENTERED)
    edited = ENTERED + days(30)
    use_case.summary = "Now also scores lapsed subscribers."
    use_case._history_date = at(edited)
    use_case.save()

    # then the inactivity clock runs from the edit
    assert detect(edited + days(60), **INACTIVITY_RULE_ONLY) == []
    [found] = detect(edited + days(61), **INACTIVITY_RULE_ONLY)
    assert found.detail["last_activity"] == edited.isoformat()
    assert found.detail["last_activity_kind"] == "edit"


def test_the_inactivity_window_comes_from_the_policy():
    in_pilot(ENTERED)

    assert detect(ENTERED + days(20), inactivity_days=20) == []
    assert len(detect(ENTERED + days(21), inactivity_days=20)) == 1


def test_a_pilot_over_both_limits_gives_one_finding_with_both_reasons():
    in_pilot(ENTERED)

    [found] = detect(ENTERED + days(100))

    assert [reason.split(",")[0] for reason in found.detail["reasons"]] == ["in pilot for 100 days", "no activity for 100 days"]


# --- only what had happened by the judged date counts ------------------------------------


def test_a_move_out_of_pilot_after_the_judged_date_does_not_count():
    # given a pilot that went live 100 days after it started
    use_case = in_pilot(ENTERED)
    signed_off(use_case, Stage.PRODUCTION)
    move_use_case(use_case=use_case, to_stage=Stage.PRODUCTION, actor=TEST_ACTOR, on=at(ENTERED + days(100)))

    # then judged before it went live it was stalled, judged on the day it went live it is not
    [found] = detect(ENTERED + days(99), **STAGE_RULE_ONLY)
    assert found.detail["stage"] == "pilot"
    assert detect(ENTERED + days(100), **STAGE_RULE_ONLY) == []


def test_a_use_case_that_did_not_exist_yet_is_ignored():
    in_pilot(ENTERED)

    assert detect(ENTERED - days(30)) == []


def test_a_kpi_observation_after_the_judged_date_does_not_count_as_activity():
    use_case = in_pilot(ENTERED)
    record_kpi_observation(kpi=use_case.kpis.get(), observed_on=ENTERED + days(70), value=Decimal("1"), actor=TEST_ACTOR)

    [found] = detect(ENTERED + days(61), **INACTIVITY_RULE_ONLY)
    assert found.detail["last_activity_kind"] == "stage_move"


def test_an_edit_after_the_judged_date_does_not_count_as_activity():
    # The services date history records by the wall clock, long after ENTERED.
    use_case = in_pilot(ENTERED)
    use_case.summary = "Edited today."
    use_case.save()

    [found] = detect(ENTERED + days(61), **INACTIVITY_RULE_ONLY)
    assert found.detail["last_activity_kind"] == "stage_move"


def test_a_new_stall_after_moving_back_is_a_new_finding():
    # given a pilot that stalled, went back to validating, and came back to pilot
    use_case = in_pilot(ENTERED)
    first = detect(ENTERED + days(95))
    use_case = move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR, reason="data gaps",
                             on=at(ENTERED + days(100)))
    back = ENTERED + days(120)
    signed_off(use_case, Stage.PILOT)
    move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR, on=at(back))

    # when it stalls again
    second = detect(back + days(95))

    # then
    assert [f.identity for f in first] == [(use_case.pk, "pilot", ENTERED.isoformat())]
    assert [f.identity for f in second] == [(use_case.pk, "pilot", back.isoformat())]
    assert first[0].fingerprint != second[0].fingerprint


# --- severity and cost of delay ----------------------------------------------------------


def test_estimated_cost_of_delay_is_days_over_times_the_cost_per_day():
    in_pilot(ENTERED, decision=DecisionFactory(cost_of_delay_per_day=Decimal("400.00")))

    [found] = detect(ENTERED + days(100), **STAGE_RULE_ONLY)

    assert found.detail["cost_of_delay_per_day"] == 400.0
    assert found.detail["estimated_cost_of_delay"] == 4000.0


def test_a_day_later_a_stall_says_so_with_the_same_facts_and_severity():
    in_pilot(ENTERED, decision=DecisionFactory(cost_of_delay_per_day=Decimal("400.00")))

    [before] = detect(ENTERED + days(100), **STAGE_RULE_ONLY)
    [after] = detect(ENTERED + days(101), **STAGE_RULE_ONLY)

    assert (after.title, after.detail["estimated_cost_of_delay"]) != (before.title, before.detail["estimated_cost_of_delay"])
    assert (after.facts_digest, after.severity) == (before.facts_digest, before.severity)


def test_without_a_cost_of_delay_the_estimate_is_unknown():
    in_pilot(ENTERED, decision=DecisionFactory(cost_of_delay_per_day=None))

    [found] = detect(ENTERED + days(100), **STAGE_RULE_ONLY)

    assert found.detail["cost_of_delay_per_day"] is None
    assert found.detail["estimated_cost_of_delay"] is None


@pytest.mark.parametrize(
    "days_over, expected",
    # time alone stops at high (issue 11: critical is waste known to happen; it was critical from 180)
    [(1, "low"), (44, "low"), (45, "medium"), (89, "medium"), (90, "high"), (179, "high"), (180, "high"), (900, "high")],
)
def test_severity_grows_with_the_days_over_the_limit(days_over, expected):
    in_pilot(ENTERED, decision=DecisionFactory(cost_of_delay_per_day=Decimal("1.00"), frequency=Frequency.WEEKLY))

    [found] = detect(ENTERED + days(90 + days_over), **STAGE_RULE_ONLY)

    assert found.severity == expected


@pytest.mark.parametrize(
    "cost_per_day, frequency, expected",
    [
        ("1.00", Frequency.WEEKLY, "low"),
        ("10000.00", Frequency.WEEKLY, "medium"),  # 10 days over: 100,000 of delay
        ("1.00", Frequency.DAILY, "medium"),
        ("1.00", Frequency.REALTIME, "medium"),
        ("10000.00", Frequency.HOURLY, "high"),
    ],
)
def test_a_costly_delay_or_a_frequent_decision_makes_a_stall_more_severe(cost_per_day, frequency, expected):
    in_pilot(ENTERED, decision=DecisionFactory(cost_of_delay_per_day=Decimal(cost_per_day), frequency=frequency))

    [found] = detect(ENTERED + days(100), **STAGE_RULE_ONLY)

    assert found.severity == expected


def test_a_frequent_decision_alone_does_not_make_a_stall_critical():
    in_pilot(ENTERED, decision=DecisionFactory(cost_of_delay_per_day=None, frequency=Frequency.DAILY))

    [found] = detect(ENTERED + days(400))

    assert found.severity == "high"


def test_severity_never_goes_above_critical():
    in_pilot(ENTERED, decision=DecisionFactory(cost_of_delay_per_day=Decimal("10000.00"), frequency=Frequency.DAILY))

    [found] = detect(ENTERED + days(400))

    assert found.severity == "critical"


# --- scale and determinism ---------------------------------------------------------------


def test_findings_come_sorted_by_use_case():
    use_cases = [in_pilot(ENTERED) for _ in range(4)]

    found = detect(ENTERED + days(100))

    assert [f.use_case_ids[0] for f in found] == sorted(uc.pk for uc in use_cases)


def _queries_for_portfolio_of(size: int) -> int:
    for index in range(size):
        use_case = in_pilot(ENTERED - days(index))
        record_kpi_observation(kpi=use_case.kpis.get(), observed_on=ENTERED, value=Decimal("1"), actor=TEST_ACTOR)
        KPIFactory(use_case=use_case)
    with CaptureQueriesContext(connection) as queries:
        found = detect(ENTERED + days(100))
    assert len(found) >= size
    return len(queries)


@pytest.mark.slow
def test_the_number_of_queries_does_not_grow_with_the_portfolio():
    small = _queries_for_portfolio_of(3)
    large = _queries_for_portfolio_of(27)  # 30 in all

    assert large == small
