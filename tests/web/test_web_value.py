"""Where value leaks: the page, its CSV and GET /api/value/, for the portfolio and one unit;
a registry with nothing in money says so; constant queries at two sizes."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from portfolio.detectors.base import Detected
from portfolio.services.findings import reconcile
from registry.models import KPIObservation, UseCase
from tests.factories import BusinessUnitFactory, DecisionFactory, InvestmentFactory, KPIFactory, UseCaseFactory

pytestmark = pytest.mark.django_db
AS_OF = datetime.date(2026, 11, 2)


def use_case_in(unit, **kwargs):
    return UseCaseFactory(decision=DecisionFactory(business_unit=unit), **kwargs)


def finding(kind, use_cases, price, layers=None):
    return Detected(kind=kind, identity=(kind, *[u.pk for u in use_cases]), severity="high", title=f"{kind} finding",
                    use_case_ids=[u.pk for u in use_cases], price=None if price is None else Decimal(price),
                    price_by_layer=None if layers is None else {layer: Decimal(a) for layer, a in layers.items()})


@pytest.fixture
def portfolio():
    finance, sales = BusinessUnitFactory(name="Finance"), BusinessUnitFactory(name="Sales")
    invoices = use_case_in(finance, expected_annual_value=Decimal("100000"))
    churn = use_case_in(sales, expected_annual_value=Decimal("50000"))
    kpi = KPIFactory(use_case=churn, baseline=Decimal("10"), value_per_unit=Decimal("1000"), direction="lower")
    KPIObservation.objects.create(kpi=kpi, observed_on=AS_OF, value=Decimal("7"))  # 3 × 1,000 a year
    InvestmentFactory(use_case=invoices, layer="model", planned=Decimal("80000"), spent=Decimal("60000"))
    InvestmentFactory(use_case=churn, layer="data", planned=Decimal("10000"), spent=Decimal("4000"))
    # the value not realised was priced before the scans put prices on layers
    for kind, members, price, layers in (
            ("stalled_pilot", [invoices], "4000", {"data": "4000"}),
            ("duplicate_capability", [invoices, churn], "6000", {"model": "5000", "data": "1000"}),
            ("value_not_realised", [churn], "47000", None), ("broken_feedback_loop", [invoices], None, None)):
        reconcile(kinds=[kind], detected=[finding(kind, members, price, layers)], as_of=AS_OF)
    return {"finance": finance, "sales": sales}


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_answers_the_issues_shape_for_the_portfolio_and_a_unit(portfolio, program_office_user, settings):
    settings.LAST_MILE_CURRENCY = "EUR"
    api = api_for(program_office_user)
    answer = api.get("/api/value/").json()
    assert {key: answer[key] for key in ("currency", "expected", "realised", "leaks")} == {
        "currency": "EUR", "expected": "150000.00", "realised": "3000.00",
        "leaks": {"stalled": "4000.00", "duplicated": "6000.00", "not_realised": "47000.00", "unowned": None,
                  "unmeasured": None}}
    assert answer["leaks_by_layer"]["data"] == {"stalled": "4000.00", "duplicated": "1000.00", "not_realised": "0.00",
                                                "unowned": "0.00", "unmeasured": "0.00"}
    assert answer["leaks_by_layer"]["model"]["duplicated"] == "5000.00"
    assert answer["leaks_by_layer"]["inference"]["stalled"] == "0.00"
    sales = api.get(f"/api/value/?business_unit={portfolio['sales'].pk}").json()
    assert (sales["expected"], sales["realised"], sales["leaks"]["stalled"], sales["leaks"]["duplicated"]) == (
        "50000.00", "3000.00", None, "6000.00")


@pytest.mark.parametrize("query, status", [("business_unit=abc", 400), ("business_unit=1.0", 400),
                                           ("business_unit=999999", 404), ("business_unit=1&business_unit=2", 400)])
def test_a_bad_unit_is_named(portfolio, program_office_user, query, status):
    answer = api_for(program_office_user).get(f"/api/value/?{query}")
    assert answer.status_code == status
    if status == 400:
        assert "business_unit" in answer.json()


def test_only_the_program_office_and_auditors_see_it(portfolio, business_owner_user, auditor_user, client):
    assert api_for(auditor_user).get("/api/value/").status_code == 200
    assert api_for(business_owner_user).get("/api/value/").status_code == 403
    client.force_login(business_owner_user)
    assert client.get(reverse("web:value")).status_code == 403


def test_the_page_shows_the_flow_the_leaks_linked_to_their_findings_and_the_layers(portfolio, client, program_office_user,
                                                                                   settings):
    settings.LAST_MILE_CURRENCY = "EUR"
    client.force_login(program_office_user)
    page = client.get(reverse("web:value")).content.decode()
    assert "<svg" in page and "150,000 EUR" in page and "3,000 EUR" in page and "57,000 EUR" in page
    assert '<a href="/findings/?kind=stalled_pilot&amp;status=active&amp;order=price">' in page  # a bar and its row
    assert "Finance" in page and "Sales" in page and "3,000 EUR" in page  # the duplicate split between the units
    assert "60,000 EUR" in page and "4,000 EUR" in page  # spent on model and data

    export = client.get(reverse("web:value_export")).content.decode().splitlines()
    assert "leaks,all units,not_realised,EUR,47000.00" in export
    assert "leaks by unit,all units,Finance,duplicated,3000.00" in export
    assert "investment,all units,model,spent,60000.00" in export
    assert "leaks,all units,unowned,EUR," in export
    assert "leaks by layer,all units,data,duplicated,1000.00" in export
    assert "leaks by layer,all units,not_on_a_layer,not_realised,47000.00" in export


def test_the_leaks_by_layer_say_how_they_are_attributed_and_each_links_to_its_findings(portfolio, client,
                                                                                       program_office_user):
    client.force_login(program_office_user)
    page = client.get(reverse("web:value")).content.decode()
    section = page[page.index('id="leak-layer-h"'):page.index('id="layer-h"')]
    assert "Each leak is put on the layer that causes it" in section and "<svg" in section
    data_duplicated = "/findings/?kind=duplicate_capability&amp;status=active&amp;order=price&amp;layer=data"
    assert section.count(f'<a href="{data_duplicated}">') == 2  # its bar segment and its table cell
    assert "Not yet on a layer" in section and "47,000 EUR" in section

    inbox = client.get(data_duplicated.replace("&amp;", "&")).content.decode()
    assert "duplicate_capability finding" in inbox
    assert "duplicate_capability finding" not in client.get(
        data_duplicated.replace("&amp;", "&").replace("layer=data", "layer=inference")).content.decode()


def test_a_registry_with_nothing_in_money_says_so_instead_of_showing_zeros(client, program_office_user):
    UseCaseFactory(source_format="omb-2025")
    client.force_login(program_office_user)
    page = client.get(reverse("web:value")).content.decode()
    assert "This registry holds nothing to count in money yet" in page and "<svg" not in page
    answer = api_for(program_office_user).get("/api/value/").json()
    assert {key: answer[key] for key in ("currency", "expected", "realised", "leaks")} == {
        "currency": "EUR", "expected": None, "realised": None,
        "leaks": {cause: None for cause in ("stalled", "duplicated", "not_realised", "unowned", "unmeasured")}}


def test_the_page_and_the_api_run_the_same_queries_at_two_sizes(portfolio, client, program_office_user,
                                                                 django_assert_num_queries):
    client.force_login(program_office_user)
    api = api_for(program_office_user)
    urls = [reverse("web:value"), reverse("web:value_export"), f"{reverse('web:value')}?unit={portfolio['sales'].pk}"]
    client.get(reverse("web:value"))  # the session's first request reads what later ones have cached
    api.get("/api/value/")
    counts = {}
    for url in urls:
        with CaptureQueriesContext(connection) as measured:
            client.get(url)
        counts[url] = len(measured.captured_queries)
    with CaptureQueriesContext(connection) as measured:
        api.get("/api/value/")
    api_count = len(measured.captured_queries)

    stalls = [finding("stalled_pilot", [use_case], "4000", {"data": "4000"}) for use_case in [
        UseCase.objects.get(findings__kind="stalled_pilot")]]  # the one already open stays open
    for n in range(12):  # more units, use cases, KPIs, investment and priced findings on layers
        unit = BusinessUnitFactory(name=f"Unit {n}")
        use_case = use_case_in(unit, expected_annual_value=Decimal("1000"))
        KPIObservation.objects.create(kpi=KPIFactory(use_case=use_case, baseline=Decimal("1"),
                                                     value_per_unit=Decimal("5")), observed_on=AS_OF, value=Decimal("2"))
        InvestmentFactory(use_case=use_case)
        stalls.append(finding("stalled_pilot", [use_case], "10", {"model": "6", "inference": "4"}))
    reconcile(kinds=["stalled_pilot"], detected=stalls, as_of=AS_OF)
    assert api.get("/api/value/").json()["leaks_by_layer"]["model"]["stalled"] == "72.00"

    for url, count in counts.items():
        with django_assert_num_queries(count):
            assert client.get(url).status_code == 200
    with django_assert_num_queries(api_count):
        api.get("/api/value/")
