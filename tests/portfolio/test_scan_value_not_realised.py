"""Value not realised: production use cases whose measured KPIs have not moved toward their
targets after the policy's observations or days in production; judged at the scan's as_of."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio import evidence
from portfolio.detectors import value_not_realised
from portfolio.models import Policy
from registry.models import KPIObservation
from tests.dates import days
from tests.factories import KPIFactory
from tests.portfolio.test_scan_feedback_loops import LIVE, live_use_case

pytestmark = pytest.mark.django_db


def detect(as_of, **policy_overrides):
    return value_not_realised.detect(as_of=as_of, policy=Policy(**policy_overrides))


def observe(use_case, *values, start=LIVE + days(10), every=10, kpi=None):
    kpi = kpi or use_case.kpis.get()
    for n, value in enumerate(values):
        KPIObservation.objects.create(kpi=kpi, observed_on=start + days(every * n), value=Decimal(value))


# The factory's KPI: higher is better, baseline 0.12, target 0.30.


def test_a_flat_kpi_after_the_policys_three_observations_asks_for_a_decision():
    use_case = live_use_case(title="Churn model")
    observe(use_case, "0.12", "0.11", "0.12")  # the latest sits on the baseline

    [found] = detect(LIVE + days(40))

    assert (found.kind, found.identity, found.substance, found.severity) == (
        "value_not_realised", (use_case.pk,), (False,), "medium")
    assert found.title == "'Churn model' is in production but its KPI has not moved toward its target: scale, fix or stop?"
    assert found.detail["observations_in_production"] == 3
    assert found.detail["decision_asked"] == ["scale", "fix", "stop"]
    assert found.detail["kpis"][0] | {"name": None} == {
        "name": None, "baseline": "0.1200", "target": "0.3000", "latest": "0.1200", "moved": "not at all"}


def test_two_observations_are_not_yet_enough():
    use_case = live_use_case()
    observe(use_case, "0.12", "0.12")
    assert detect(LIVE + days(40)) == []


def test_observations_before_production_do_not_count():
    use_case = live_use_case()
    observe(use_case, "0.12", "0.12", start=LIVE - days(20))  # in pilot
    observe(use_case, "0.12", start=LIVE + days(1))
    assert detect(LIVE + days(40)) == []
    assert len(detect(LIVE + days(40), value_min_observations=1)) == 1


def test_with_few_observations_the_day_limit_decides_one_day_over():
    use_case = live_use_case()
    observe(use_case, "0.12")
    assert detect(LIVE + days(180)) == []  # exactly the 180 days
    [found] = detect(LIVE + days(181))
    assert (found.detail["days_in_production"], found.detail["observations_in_production"]) == (181, 1)


def test_a_kpi_that_moved_toward_its_target_is_value_on_its_way():
    use_case = live_use_case()
    observe(use_case, "0.12", "0.12", "0.13")
    assert detect(LIVE + days(400)) == []


def test_a_kpi_that_moved_away_is_high_and_with_much_value_expected_critical():
    use_case = live_use_case(expected_annual_value=Decimal("2000000"))
    observe(use_case, "0.12", "0.10", "0.09")
    [found] = detect(LIVE + days(40))
    assert (found.severity, found.substance, found.detail["worse"]) == ("critical", (True,), True)
    assert "moved away from its target" in found.title


def test_a_falling_kpi_is_judged_toward_its_target_below_the_baseline():
    use_case = live_use_case()
    use_case.kpis.update(direction="lower", baseline=Decimal("300"), target=Decimal("200"))
    observe(use_case, "300", "290", "280")
    assert detect(LIVE + days(40)) == []
    observe(use_case, "310", start=LIVE + days(45))
    assert detect(LIVE + days(50))[0].detail["worse"] is True


def test_one_kpi_moving_is_enough_and_kpis_without_baseline_or_observation_are_not_judged():
    use_case = live_use_case()
    moving = KPIFactory(use_case=use_case, name="Discount captured", baseline=Decimal("1"), target=Decimal("2"))
    KPIFactory(use_case=use_case, name="Never observed", baseline=Decimal("1"))
    unbaselined = KPIFactory(use_case=use_case, name="No baseline")
    flat = use_case.kpis.get(name__startswith="Early")
    observe(use_case, "0.12", "0.12", "0.12", kpi=flat)
    observe(use_case, "5", "5", "5", kpi=unbaselined)
    [found] = detect(LIVE + days(40))
    assert [k["name"] for k in found.detail["kpis"]] == [flat.name]
    observe(use_case, "1.5", kpi=moving)
    assert detect(LIVE + days(40)) == []


def test_as_of_judges_by_what_was_observed_by_then():
    use_case = live_use_case()
    observe(use_case, "0.12", "0.12", "0.12", "0.20")  # the fourth, on LIVE + 40, moves it
    assert len(detect(LIVE + days(39))) == 1
    assert detect(LIVE + days(40)) == []
    assert detect(LIVE - days(1)) == []  # not in production yet


def test_a_use_case_without_observations_is_left_to_the_feedback_loop_scan():
    live_use_case()
    assert detect(LIVE + days(400)) == []


def test_the_scan_runs_the_same_queries_at_any_portfolio_size(django_assert_num_queries):
    observe(live_use_case(), "0.12", "0.12", "0.12")
    with CaptureQueriesContext(connection) as one:
        assert len(detect(LIVE + days(40))) == 1
    for _ in range(8):
        observe(live_use_case(), "0.12", "0.12", "0.12")
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(detect(LIVE + days(40))) == 9


def test_the_scan_command_opens_it_as_of_a_date():
    use_case = live_use_case()
    observe(use_case, "0.12", "0.12", "0.12")
    out = io.StringIO()
    call_command("scan", "--as-of", (LIVE + days(40)).isoformat(), "--kind", "value_not_realised", "--json", stdout=out)
    [finding] = json.loads(out.getvalue())["findings"]
    assert (finding["kind"], finding["use_cases"]) == ("value_not_realised", [use_case.external_id])


def test_its_evidence_reads_as_sentences_and_a_table(settings):
    settings.LAST_MILE_CURRENCY = "EUR"
    use_case = live_use_case(expected_annual_value=Decimal("300000"))
    use_case.kpis.update(value_per_unit=Decimal("1000000"))
    observe(use_case, "0.12", "0.11", "0.10")
    [found] = detect(LIVE + days(40))

    shown = evidence.present(found.kind, found.detail)

    assert shown.sentences == [
        f"In production since {LIVE.isoformat()} (40 days), with 3 KPI observations since; the policy gives a use "
        "case 3 observations or 180 days in production to move its business metric.",
        "Its business metric has moved away from its target: the decision it serves is being made worse.",
        "It realises -20,000 EUR a year against an expected 300,000 EUR.",
        "Decide: scale, fix and stop — scale it where the metric moves, fix what keeps it from moving "
        "(integration, adoption, the target itself), or stop it.",
    ]
    [table] = shown.tables
    assert table.headings == ["KPI", "Baseline", "Target", "Latest", "Moved"]
    assert [c.text for c in table.rows[0]][1:] == ["0.12", "0.3", "0.1", "away from target"]
