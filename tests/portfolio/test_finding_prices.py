"""The price of each finding where the data allow it: stored by the scan, shown on the finding,
summed on the dashboard, and the inbox's "costliest first" order."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.actors import COMMAND
from portfolio.detectors.base import Detected
from portfolio.models import Finding, Policy
from portfolio.pricing import price_findings
from portfolio.services.findings import reconcile
from portfolio.services.scans import run_scan_now
from registry.models import KPIObservation, UseCase
from tests.dates import days
from tests.factories import InvestmentFactory, UseCaseFactory
from tests.portfolio.test_scan_feedback_loops import LIVE, live_use_case
from tests.portfolio.test_scan_stalled_pilots import ENTERED, in_pilot

pytestmark = pytest.mark.django_db


def priced(*detected, as_of=LIVE + days(40)):
    price_findings(list(detected), as_of=as_of)
    return [d.price for d in detected]


def found(kind, use_cases, **detail):
    return Detected(kind=kind, identity=tuple(u.pk for u in use_cases), severity="high", title="t",
                    use_case_ids=[u.pk for u in use_cases], detail=detail)


def realising(value_per_unit="1000", latest="0.14", **kwargs):
    """A production use case whose KPI (baseline 0.12) realises (latest − 0.12) × value_per_unit a year."""
    use_case = live_use_case(**kwargs)
    kpi = use_case.kpis.get()
    kpi.value_per_unit = Decimal(value_per_unit)
    kpi.save()
    KPIObservation.objects.create(kpi=kpi, observed_on=LIVE + days(5), value=Decimal(latest))
    return use_case


def test_a_stalled_pilot_costs_its_days_over_the_limit_times_the_cost_of_delay_and_the_scan_stores_it():
    use_case = in_pilot(ENTERED, decision__cost_of_delay_per_day=Decimal("400"))
    Policy.objects.update_or_create(pk=1, defaults={"inactivity_days": 10_000})  # the stage limit alone

    run_scan_now(kinds=["stalled_pilot"], as_of=ENTERED + days(100), actor=COMMAND)

    finding = Finding.objects.get(use_cases=use_case)
    assert finding.price == Decimal("4000.00")  # 10 days over 90 × 400


def test_a_duplicate_group_costs_what_its_members_spent_beyond_the_first():
    first, second, third = UseCaseFactory(), UseCaseFactory(), UseCaseFactory()
    InvestmentFactory(use_case=first, spent=Decimal("900"))
    InvestmentFactory(use_case=second, spent=Decimal("20"), layer="data")
    InvestmentFactory(use_case=second, spent=Decimal("30"), layer="model")
    group = found("duplicate_capability", [third, second, first])
    unspent = found("duplicate_capability", [UseCaseFactory(), UseCaseFactory()])
    assert priced(group, unspent) == [Decimal("50"), None]


def test_nobody_owning_or_measuring_a_production_use_case_puts_its_realised_value_at_risk():
    owned_by_nobody = realising(value_per_unit="100000")  # 0.02 × 100,000 = 2,000 a year
    unmeasured = realising(value_per_unit="50000")  # 1,000 a year
    losing = realising(value_per_unit="50000", latest="0.10")  # realises a loss: nothing at risk
    missing = found("orphaned_ownership", [owned_by_nobody], problem="missing")
    unconfirmed = found("orphaned_ownership", [owned_by_nobody], problem="unconfirmed")
    stale = found("broken_feedback_loop", [unmeasured], problem="stale_observation")
    lost = found("broken_feedback_loop", [losing], problem="stale_observation")
    assert priced(missing, unconfirmed, stale, lost) == [Decimal("2000.00"), None, Decimal("1000.00"), None]
    assert priced(found("orphaned_ownership", [owned_by_nobody], problem="missing"), as_of=LIVE - days(1)) == [None]


def test_value_not_realised_costs_the_expected_value_less_what_is_realised():
    gap = found("value_not_realised", [UseCaseFactory()], expected_annual_value="300000.00",
                realised_annual_value="-20000.00")
    partly = found("value_not_realised", [UseCaseFactory()], expected_annual_value="300000.00",
                   realised_annual_value="1000.00")
    unknown = found("value_not_realised", [UseCaseFactory()], expected_annual_value=None, realised_annual_value=None)
    assert priced(gap, partly, unknown) == [Decimal("300000.00"), Decimal("299000.00"), None]


def test_pricing_takes_the_same_queries_at_any_number_of_findings(django_assert_num_queries):
    def findings(count):
        detected = []
        for _ in range(count):
            use_case = realising()
            InvestmentFactory(use_case=use_case)
            detected += [found("duplicate_capability", [use_case, UseCaseFactory()]),
                         found("broken_feedback_loop", [use_case], problem="stale_observation")]
        return detected

    few = findings(1)
    with CaptureQueriesContext(connection) as one:
        price_findings(few, as_of=LIVE + days(40))
    many = findings(6)
    with django_assert_num_queries(len(one.captured_queries)):
        price_findings(many, as_of=LIVE + days(40))
    assert all(d.price is not None for d in many)


@pytest.fixture
def priced_findings():
    cheap = UseCaseFactory(title="Cheap stall")
    dear = UseCaseFactory(title="Dear stall")
    unpriced = UseCaseFactory(title="Unpriced")
    detected = []
    for use_case, price in ((cheap, Decimal("500")), (dear, Decimal("25000")), (unpriced, None)):
        d = found("stalled_pilot", [use_case])
        d.title, d.price = f"'{use_case.title}' stalled", price
        detected.append(d)
    reconcile(kinds=["stalled_pilot"], detected=detected, as_of=datetime.date(2026, 11, 2))
    return detected


def test_the_finding_shows_its_price_and_the_inbox_orders_costliest_first(client, program_office_user, priced_findings,
                                                                           settings):
    settings.LAST_MILE_CURRENCY = "EUR"
    client.force_login(program_office_user)
    inbox = client.get(reverse("web:findings"), {"status": "active", "order": "price"}).content.decode()
    assert inbox.index("Dear stall") < inbox.index("Cheap stall") < inbox.index("Unpriced")
    assert ">25,000 EUR</td>" in inbox and "days over the limit × the decision&#x27;s cost of delay" in inbox
    dear = Finding.objects.get(title="'Dear stall' stalled")
    assert "Price:</strong> 25,000 EUR" in client.get(reverse("web:finding", args=[dear.pk])).content.decode()

    dashboard = client.get(reverse("web:portfolio")).content.decode()
    assert "25,500 EUR</strong> across 1 kind of finding" in dashboard
    export = client.get(reverse("web:portfolio_export")).content.decode()
    assert "price of open findings,all units,stalled_pilot,total,25500.00" in export

    api = APIClient()
    api.force_authenticate(program_office_user)
    prices = {f["title"]: f["price"] for f in api.get("/api/findings/").json()["results"]}
    assert prices == {"'Cheap stall' stalled": "500.00", "'Dear stall' stalled": "25000.00", "'Unpriced' stalled": None}


# Each price put on the value-chain layers that cause it ----------------------------------------


def test_a_stall_is_put_on_its_least_ready_layer_and_ties_share_it_to_the_cent_as_the_scan_stores_it():
    data_starved = in_pilot(ENTERED, decision__cost_of_delay_per_day=Decimal("400"))
    two_lag = in_pilot(ENTERED, decision__cost_of_delay_per_day=Decimal("1000.01"))
    ready = {f"{layer}_readiness": "ready" for layer in ("data", "infrastructure", "model", "orchestration", "inference")}
    for use_case, readiness in (
            (data_starved, {**ready, "data_readiness": "none"}),  # the stall is the data layer's
            (two_lag, {**ready, "data_readiness": "planned", "model_readiness": "partial",
                       "orchestration_readiness": "planned"})):  # data and orchestration share it
        UseCase.objects.filter(pk=use_case.pk).update(**readiness)
        UseCase.history.filter(id=use_case.pk).update(**readiness)  # as it was all along
    Policy.objects.update_or_create(pk=1, defaults={"inactivity_days": 10_000})

    run_scan_now(kinds=["stalled_pilot"], as_of=ENTERED + days(91), actor=COMMAND)

    assert Finding.objects.get(use_cases=data_starved).price_by_layer == {"data": "400.00"}
    split = Finding.objects.get(use_cases=two_lag)
    assert split.price == Decimal("1000.01")
    assert split.price_by_layer == {"data": "500.01", "orchestration": "500.00"}


def test_a_duplicate_is_put_on_the_layers_its_duplicated_money_went_to():
    first, second, third = UseCaseFactory(), UseCaseFactory(), UseCaseFactory()
    InvestmentFactory(use_case=first, spent=Decimal("900"), layer="model")
    InvestmentFactory(use_case=second, spent=Decimal("20"), layer="data")
    InvestmentFactory(use_case=second, spent=Decimal("30"), layer="model")
    InvestmentFactory(use_case=third, spent=Decimal("5"), layer="model")
    group = found("duplicate_capability", [third, second, first])
    price_findings([group], as_of=LIVE + days(40))
    assert group.price_by_layer == {"data": Decimal("20"), "model": Decimal("35")}


def test_what_nobody_owns_or_measures_is_put_on_orchestration_and_no_price_puts_nothing_anywhere():
    owned_by_nobody = realising(value_per_unit="100000")
    missing = found("orphaned_ownership", [owned_by_nobody], problem="missing")
    stale = found("broken_feedback_loop", [owned_by_nobody], problem="stale_observation")
    unknown = found("value_not_realised", [UseCaseFactory()], expected_annual_value=None, realised_annual_value=None)
    price_findings([missing, stale, unknown], as_of=LIVE + days(40))
    assert missing.price_by_layer == stale.price_by_layer == {"orchestration": Decimal("2000.00")}
    assert unknown.price_by_layer is None


def test_a_finding_over_several_use_cases_splits_its_price_among_them_first():
    data_lags = UseCaseFactory(data_readiness="none", infrastructure_readiness="ready", model_readiness="ready",
                               orchestration_readiness="ready", inference_readiness="ready")
    inference_lags = UseCaseFactory(data_readiness="ready", infrastructure_readiness="ready", model_readiness="ready",
                                    orchestration_readiness="ready", inference_readiness="planned")
    gap = found("value_not_realised", [data_lags, inference_lags], expected_annual_value="300.00",
                realised_annual_value=None)
    price_findings([gap], as_of=LIVE + days(40))
    assert gap.price_by_layer == {"data": Decimal("150.00"), "inference": Decimal("150.00")}


def test_the_finding_page_says_where_along_the_value_chain_its_price_lies(client, program_office_user, settings):
    settings.LAST_MILE_CURRENCY = "EUR"
    group = found("duplicate_capability", [UseCaseFactory(), UseCaseFactory()])
    group.price, group.price_by_layer = Decimal("4000"), {"data": Decimal("1000"), "model": Decimal("3000")}
    reconcile(kinds=["duplicate_capability"], detected=[group], as_of=datetime.date(2026, 11, 2))
    client.force_login(program_office_user)

    page = client.get(reverse("web:finding", args=[Finding.objects.get().pk])).content.decode()

    assert ("By value-chain layer:</strong> model 3,000 EUR, data 1,000 EUR "
            "(on the layers the duplicated money was spent on)") in page
    api = APIClient()
    api.force_authenticate(program_office_user)
    assert api.get("/api/findings/").json()["results"][0]["price_by_layer"] == {"data": "1000.00", "model": "3000.00"}


def test_a_later_scan_that_puts_the_same_price_on_other_layers_stores_the_new_split():
    group = found("duplicate_capability", [UseCaseFactory(), UseCaseFactory()])
    group.price, group.price_by_layer = Decimal("4000"), {"model": Decimal("4000")}
    reconcile(kinds=["duplicate_capability"], detected=[group], as_of=datetime.date(2026, 11, 2))

    again = found("duplicate_capability", [UseCase.objects.get(pk=pk) for pk in group.use_case_ids])
    again.price, again.price_by_layer = Decimal("4000"), {"model": Decimal("1000"), "data": Decimal("3000")}
    reconcile(kinds=["duplicate_capability"], detected=[again], as_of=datetime.date(2026, 11, 3))

    assert Finding.objects.get().price_by_layer == {"model": "1000.00", "data": "3000.00"}


def test_a_stall_recounted_the_next_day_moves_its_price_and_its_layers_together():
    use_case = in_pilot(ENTERED, decision__cost_of_delay_per_day=Decimal("400"))
    readiness = {f"{layer}_readiness": "ready" for layer in ("data", "infrastructure", "model", "orchestration")}
    UseCase.objects.filter(pk=use_case.pk).update(**readiness, inference_readiness="none")
    UseCase.history.filter(id=use_case.pk).update(**readiness, inference_readiness="none")
    Policy.objects.update_or_create(pk=1, defaults={"inactivity_days": 10_000})

    run_scan_now(kinds=["stalled_pilot"], as_of=ENTERED + days(91), actor=COMMAND)
    run_scan_now(kinds=["stalled_pilot"], as_of=ENTERED + days(95), actor=COMMAND)

    stall = Finding.objects.get(use_cases=use_case)
    assert (stall.price, stall.price_by_layer) == (Decimal("2000.00"), {"inference": "2000.00"})  # 5 days × 400
