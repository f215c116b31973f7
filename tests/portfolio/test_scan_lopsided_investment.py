"""Lopsided investment: a unit spending mostly on model and infrastructure while its data or
orchestration readiness lags, around the policy's thresholds and judged by as_of."""

import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portfolio import evidence
from portfolio.detectors import lopsided_investment
from portfolio.models import Finding, Policy
from registry.models import StageTransition, UseCase
from tests.factories import BusinessUnitFactory, DecisionFactory, InvestmentFactory, UseCaseFactory

pytestmark = pytest.mark.django_db
# Judged today: the use cases the factories make exist from now on.
AS_OF = timezone.localdate()


def detect(as_of=AS_OF, **policy):
    return lopsided_investment.detect(as_of=as_of, policy=Policy(**policy))


def unit_spending(name, spent: dict, *, data="none", orchestration="ready", model="ready", infrastructure="ready",
                  start=datetime.date(2026, 1, 1)):
    unit = BusinessUnitFactory(name=name)
    use_case = UseCaseFactory(decision=DecisionFactory(business_unit=unit), data_readiness=data,
                              orchestration_readiness=orchestration, model_readiness=model,
                              infrastructure_readiness=infrastructure)
    for layer, amount in spent.items():
        InvestmentFactory(use_case=use_case, layer=layer, spent=Decimal(amount), period_start=start,
                          period_end=start + datetime.timedelta(days=89))
    return unit, use_case


def test_a_unit_spending_mostly_on_model_while_its_data_lags_is_flagged_with_its_figures():
    unit, use_case = unit_spending("Marketing", {"model": "70000", "infrastructure": "10000", "data": "20000"})

    [found] = detect()

    assert (found.kind, found.identity, found.substance, found.severity) == (
        "lopsided_investment", (unit.pk,), ("data",), "high")  # 80% on the visible layers
    assert found.title == "Marketing spends 80% on model and infrastructure while its data readiness lags"
    assert found.use_case_ids == [use_case.pk]
    assert found.detail["readiness"]["data"] == 0 and found.detail["visible_readiness"] == 3
    shown = evidence.present(found.kind, found.detail)
    assert shown.sentences[0] == ("Marketing spent 100,000 EUR, 80% of it on the model and infrastructure layers "
                                  "(the policy flags 60% or more).")
    assert [c.text for c in shown.tables[0].rows[0]] == ["Data", "20,000 EUR", "20%", "0"]


@pytest.mark.parametrize("model, data, flagged", [("59", "41", False), ("60", "40", True)])
def test_the_spend_share_threshold_is_inclusive(model, data, flagged):
    unit_spending("Sales", {"model": model, "data": data})
    assert bool(detect()) is flagged


@pytest.mark.parametrize("orchestration, flagged", [("partial", False), ("planned", True)])
def test_the_readiness_gap_is_inclusive(orchestration, flagged):
    # model and infrastructure ready (3); data ready too; orchestration partial (2) lags by 1, planned (1) by 2
    unit_spending("Ops", {"model": "90", "data": "10"}, data="ready", orchestration=orchestration)
    assert bool(detect(lopsided_readiness_gap=1.5)) is flagged


def test_a_balanced_or_ready_unit_and_one_that_spent_nothing_are_not_flagged():
    unit_spending("Balanced", {"model": "30", "infrastructure": "20", "data": "30", "orchestration": "20"})
    unit_spending("Ready", {"model": "90", "data": "10"}, data="ready", orchestration="ready")
    unit_spending("Nothing spent", {"model": "0"})
    assert detect() == []


def test_only_spending_in_periods_begun_by_as_of_counts():
    unit_spending("Later", {"data": "100"}, start=datetime.date(2026, 1, 1))
    _, use_case = unit_spending("Later spender", {"data": "100"})
    tomorrow = AS_OF + datetime.timedelta(days=1)
    InvestmentFactory(use_case=use_case, layer="model", spent=Decimal("900"), period_start=tomorrow,
                      period_end=tomorrow + datetime.timedelta(days=89))
    assert detect(AS_OF) == []
    assert [f.detail["business_unit"] for f in detect(tomorrow)] == ["Later spender"]


def test_the_scan_runs_the_same_queries_at_any_number_of_units(django_assert_num_queries):
    unit_spending("Unit 0", {"model": "90", "data": "10"})
    with CaptureQueriesContext(connection) as one:
        assert len(detect()) == 1
    for n in range(1, 8):
        unit_spending(f"Unit {n}", {"model": "90", "data": "10"})
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(detect()) == 8


def test_the_scan_judges_readiness_as_the_history_held_it_on_the_as_of_day():
    # given: Marketing's use case, registered 40 days ago, recorded its data readiness as "none"
    # 30 days ago and as "ready" yesterday
    unit, use_case = unit_spending("Marketing", {"model": "90", "data": "10"}, data="none")
    now = timezone.now()
    UseCase.objects.filter(pk=use_case.pk).update(created_at=now - datetime.timedelta(days=40))
    StageTransition.objects.filter(use_case=use_case).update(occurred_at=now - datetime.timedelta(days=40))
    UseCase.history.filter(id=use_case.pk).update(history_date=now - datetime.timedelta(days=30))
    use_case.refresh_from_db()
    use_case.data_readiness = "ready"
    use_case.save()
    UseCase.history.filter(id=use_case.pk, data_readiness="ready").update(history_date=now - datetime.timedelta(days=1))

    def scanned(as_of):
        out = io.StringIO()
        call_command("scan", "--as-of", as_of.isoformat(), "--kind", "lopsided_investment", "--json", stdout=out)
        return [(f["kind"], f["detail"]["readiness"]["data"]) for f in json.loads(out.getvalue())["findings"]]

    # when / then: a week ago its data lagged; today it does not
    assert scanned(AS_OF - datetime.timedelta(days=7)) == [("lopsided_investment", 0)]
    assert scanned(AS_OF) == []
    # and a day before the readiness was recorded at all, the use case is judged as it is now
    assert scanned(AS_OF - datetime.timedelta(days=31)) == []


def test_the_portfolio_page_sets_each_units_spending_beside_its_readiness_and_links_a_lopsided_one(
        client, program_office_user):
    # given: Marketing spends 80% on model and infrastructure with its data not ready; Sales is balanced
    unit_spending("Marketing", {"model": "70000", "infrastructure": "10000", "data": "20000"})
    unit_spending("Sales", {"model": "25", "infrastructure": "25", "data": "25", "orchestration": "25"},
                  data="ready")
    call_command("scan", "--kind", "lopsided_investment", stdout=io.StringIO())
    client.force_login(program_office_user)

    # when
    page = client.get("/portfolio/").content.decode()
    export = client.get("/portfolio/export.csv").content.decode().splitlines()

    # then
    balance = page[page.index('class="heat investment-balance"'):]
    balance = balance[:balance.index("</table>")]
    marketing = balance[balance.index("Marketing"):balance.index("Sales")]
    assert "70% spent" in marketing and "20% spent" in marketing and "no spending" not in marketing
    finding = Finding.objects.get(kind="lopsided_investment")
    assert f'href="/findings/{finding.pk}/">investment lopsided</a>' in marketing
    assert "investment lopsided" not in balance[balance.index("Sales"):]
    everyone = balance[balance.index("All units"):]
    assert "70% spent" in everyone and "10% spent" in everyone  # (70,000 + 25) and (10,000 + 25) of 100,100
    assert "share of spending,all units,Marketing,model,0.7000" in export
    assert "share of spending,all units,all units,model,0.6996" in export
