"""Where value leaks shows every write at once: the investment and the realised value it reads
from running totals (kept in the writing transaction) change with a recorded or corrected
investment, an import, a use case moved to another unit, a KPI observation recorded, corrected
or deleted; a scan's findings show at once, split by unit as their use cases are; a failed
import changes nothing."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from portfolio.detectors.base import Detected
from portfolio.services.findings import reconcile
from registry.models import Investment, KPIObservation
from registry.services.investments import delete_investment, record_investment
from registry.services.use_cases import edit_use_case
from tests.dates import days
from tests.factories import BusinessUnitFactory, DecisionFactory, InvestmentFactory, KPIFactory, UseCaseFactory
from tests.portfolio.test_scan_feedback_loops import LIVE, live_use_case
from tests.registry.test_importing import run, run_failing, write_csv

pytestmark = pytest.mark.django_db

Q1, Q1_END = datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)
HEADER = "use_case,layer,period_start,period_end,planned,spent"


def spent_per_layer(client, unit=None) -> dict[str, str]:
    """The page's CSV: what it says was spent per layer (for the portfolio or a unit)."""
    query = {} if unit is None else {"unit": unit.pk}
    rows = csv.reader(io.StringIO(client.get(reverse("web:value_export"), query).content.decode()))
    return {layer: value for table, _, layer, column, value in rows if table == "investment" and column == "spent"}


def realised(user, unit=None) -> str | None:
    api = APIClient()
    api.force_authenticate(user)
    return api.get("/api/value/", {} if unit is None else {"business_unit": unit.pk}).json()["realised"]


@pytest.fixture
def office(client, program_office_user):
    client.force_login(program_office_user)
    return client


@pytest.fixture
def units():
    finance, sales = BusinessUnitFactory(name="Finance"), BusinessUnitFactory(name="Sales")
    return finance, sales


def use_case_in(unit, **kwargs):
    return UseCaseFactory(decision=DecisionFactory(business_unit=unit), **kwargs)


def test_a_recorded_investment_shows_at_once_and_a_correction_replaces_it(office, program_office_user, units):
    finance, sales = units
    invoices = use_case_in(finance, external_id="FIN-1")
    record_investment(use_case=invoices, layer="data", period_start=Q1, period_end=Q1_END, planned=Decimal("500"),
                      spent=Decimal("400.10"), actor=program_office_user)
    assert spent_per_layer(office)["data"] == "400.10"

    record_investment(use_case=invoices, layer="data", period_start=Q1, period_end=Q1_END, planned=Decimal("500"),
                      spent=Decimal("450.00"), actor=program_office_user)
    assert spent_per_layer(office)["data"] == spent_per_layer(office, finance)["data"] == "450.00"
    assert spent_per_layer(office, sales)["data"] == "0.00"


def test_an_import_shows_at_once_and_a_refused_one_changes_nothing(office, program_office_user, units, tmp_path):
    finance, sales = units
    use_case_in(finance, external_id="FIN-1")
    use_case_in(sales, external_id="SAL-1")
    run("import_investments", write_csv(tmp_path, [HEADER, "FIN-1,model,2026-01-01,2026-03-31,900,700",
                                                   "SAL-1,model,2026-01-01,2026-03-31,100,60.5"]))
    assert (spent_per_layer(office)["model"], spent_per_layer(office, sales)["model"]) == ("760.50", "60.50")

    run("import_investments", write_csv(tmp_path, [HEADER, "FIN-1,model,2026-01-01,2026-03-31,900,800"]))  # corrects
    assert spent_per_layer(office)["model"] == "860.50"

    run_failing("import_investments", write_csv(tmp_path, [HEADER, "FIN-1,model,2026-04-01,2026-06-30,10,10",
                                                           "NOPE-9,model,2026-04-01,2026-06-30,10,10"]))
    assert spent_per_layer(office)["model"] == "860.50"


def test_a_use_case_moved_to_another_unit_takes_its_investment_with_it(office, program_office_user, units):
    finance, sales = units
    invoices = use_case_in(finance)
    for start, end, planned, spent in ((Q1, Q1_END, "30", "20"), (Q1 + days(90), Q1_END + days(91), "5", "5")):
        InvestmentFactory(use_case=invoices, layer="inference", period_start=start, period_end=end,
                          planned=Decimal(planned), spent=Decimal(spent))
    InvestmentFactory(use_case=use_case_in(sales), layer="inference", planned=Decimal("1"), spent=Decimal("1"))

    invoices.business_unit = sales
    edit_use_case(use_case=invoices, actor=program_office_user)

    assert (spent_per_layer(office, finance)["inference"], spent_per_layer(office, sales)["inference"]) == (
        "0.00", "26.00")
    assert spent_per_layer(office)["inference"] == "26.00"


def test_an_investment_deleted_by_hand_leaves_the_totals(office, units):
    finance, _ = units
    kept = InvestmentFactory(use_case=use_case_in(finance), layer="data", planned=Decimal("3"), spent=Decimal("2"))
    InvestmentFactory(use_case=use_case_in(finance), layer="data", planned=Decimal("7"), spent=Decimal("5"))
    Investment.objects.exclude(pk=kept.pk).delete()
    assert spent_per_layer(office, finance)["data"] == "2.00"


def test_a_kpi_observation_shows_at_once_and_the_latest_by_date_counts(program_office_user, units, business_owner_user):
    finance, _ = units
    kpi = KPIFactory(use_case=use_case_in(finance), baseline=Decimal("10"), value_per_unit=Decimal("100"),
                     direction="higher")
    assert realised(program_office_user) is None

    api = APIClient()
    api.force_authenticate(program_office_user)
    answer = api.post("/api/kpi-observations/", {"kpi": kpi.pk, "observed_on": "2026-11-01", "value": "12"},
                      format="json")
    assert answer.status_code == 201, answer.content
    assert realised(program_office_user) == realised(program_office_user, finance) == "200.00"

    KPIObservation.objects.create(kpi=kpi, observed_on=datetime.date(2026, 10, 1), value=Decimal("50"))  # older
    assert realised(program_office_user) == "200.00"

    KPIObservation.objects.filter(kpi=kpi, observed_on=datetime.date(2026, 11, 1)).update(value=Decimal("9"))
    assert realised(program_office_user) == "-100.00"  # corrected below the baseline: value lost

    KPIObservation.objects.filter(kpi=kpi, observed_on=datetime.date(2026, 11, 1)).delete()
    assert realised(program_office_user) == "4000.00"  # the older one is the latest again
    KPIObservation.objects.filter(kpi=kpi).delete()
    assert realised(program_office_user) is None


def test_a_scans_findings_show_at_once(program_office_user):
    use_case = live_use_case(title="Churn model", expected_annual_value=Decimal("80000"))
    kpi = use_case.kpis.get()  # higher is better, baseline 0.12
    for n in range(3):
        KPIObservation.objects.create(kpi=kpi, observed_on=LIVE + days(10 + 10 * n), value=Decimal("0.12"))
    api = APIClient()
    api.force_authenticate(program_office_user)
    assert api.get("/api/value/").json()["leaks"]["not_realised"] is None

    call_command("scan", "--as-of", (LIVE + days(40)).isoformat(), "--kind", "value_not_realised", stdout=io.StringIO())

    assert api.get("/api/value/").json()["leaks"]["not_realised"] == "80000.00"


def leaks_by_unit(client, cause) -> dict[str, str]:
    rows = csv.reader(io.StringIO(client.get(reverse("web:value_export")).content.decode()))
    return {row[2]: row[4] for row in rows if row[0] == "leaks by unit" and row[3] == cause}


def test_a_price_split_between_units_follows_its_use_cases_and_its_price(office, program_office_user, units):
    finance, sales = units
    pair = [use_case_in(finance), use_case_in(sales)]

    def scan(price):
        reconcile(kinds=["duplicate_capability"], as_of=datetime.date(2026, 11, 2), detected=[Detected(
            kind="duplicate_capability", identity=("pair",), severity="high", title="Duplicates",
            use_case_ids=[u.pk for u in pair], price=Decimal(price))])

    scan("100.01")
    assert leaks_by_unit(office, "duplicated") == {"Finance": "50.00", "Sales": "50.00"}  # 50.005, half to even

    pair[1].business_unit = finance
    edit_use_case(use_case=pair[1], actor=program_office_user)
    assert leaks_by_unit(office, "duplicated") == {"Finance": "100.01"}

    scan("300")  # the next scan prices it again
    assert leaks_by_unit(office, "duplicated") == {"Finance": "300.00"}


def test_an_investment_deleted_through_the_service_leaves_the_totals_at_once(office, program_office_user, units):
    finance, _ = units
    wrong = InvestmentFactory(use_case=use_case_in(finance), layer="model", planned=Decimal("9"), spent=Decimal("8"))
    InvestmentFactory(use_case=use_case_in(finance), layer="model", planned=Decimal("3"), spent=Decimal("2"))
    assert spent_per_layer(office, finance)["model"] == "10.00"

    delete_investment(investment=wrong, actor=program_office_user)

    assert spent_per_layer(office)["model"] == spent_per_layer(office, finance)["model"] == "2.00"
