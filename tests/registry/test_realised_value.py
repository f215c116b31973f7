"""Value realised from the feedback loop: a priced KPI's latest observation against its
baseline, direction-aware, as a yearly rate; no observation, baseline or price → None, not 0."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from registry.models import KPIObservation
from registry.selectors.value import realised_values
from tests.factories import KPIFactory, UseCaseFactory
from web.templatetags.web_tags import in_currency

pytestmark = pytest.mark.django_db

JAN = datetime.date(2026, 1, 15)


def observe(kpi, *values, start=JAN):
    for n, value in enumerate(values):
        KPIObservation.objects.create(kpi=kpi, observed_on=start + datetime.timedelta(days=30 * n), value=Decimal(value))


def realised(use_case, **options):
    return realised_values([use_case.pk], **options)[use_case.pk]


def test_a_rising_kpi_realises_its_improvement_times_its_price():
    kpi = KPIFactory(direction="higher", baseline=Decimal("0.12"), target=Decimal("0.30"),
                     value_per_unit=Decimal("500000"), value_period="year")
    observe(kpi, "0.15", "0.20")  # the latest counts: 0.08 over the baseline
    assert realised(kpi.use_case) == Decimal("40000.00")


def test_a_falling_kpi_realises_what_it_went_down_and_a_monthly_price_counts_twelve_times():
    kpi = KPIFactory(name="Handling time", unit="s", direction="lower", baseline=Decimal("300"),
                     target=Decimal("200"), value_per_unit=Decimal("50"), value_period="month")
    observe(kpi, "240")
    assert realised(kpi.use_case) == Decimal("36000.00")  # 60 s × 50 × 12


def test_a_kpi_that_moved_the_wrong_way_realises_a_loss():
    kpi = KPIFactory(direction="lower", baseline=Decimal("300"), value_per_unit=Decimal("10"), value_period="quarter")
    observe(kpi, "310")
    assert realised(kpi.use_case) == Decimal("-400.00")


def test_a_single_observation_at_the_baseline_realises_zero_which_is_known():
    kpi = KPIFactory(baseline=Decimal("5"), value_per_unit=Decimal("10"))
    observe(kpi, "5")
    assert realised(kpi.use_case) == Decimal("0.00")


@pytest.mark.parametrize("baseline, price, observed", [
    (None, Decimal("10"), ["7"]),  # missing baseline
    (Decimal("5"), None, ["7"]),  # not priced
    (Decimal("5"), Decimal("10"), []),  # no observation
])
def test_without_baseline_price_or_observation_there_is_no_value_not_zero(baseline, price, observed):
    kpi = KPIFactory(baseline=baseline, value_per_unit=price)
    observe(kpi, *observed)
    assert realised(kpi.use_case) is None


def test_a_use_case_realises_the_sum_of_its_kpis_that_realise_something():
    use_case = UseCaseFactory()
    observe(KPIFactory(use_case=use_case, baseline=Decimal("1"), value_per_unit=Decimal("100")), "3")
    observe(KPIFactory(use_case=use_case, direction="lower", baseline=Decimal("10"), value_per_unit=Decimal("5")), "8")
    KPIFactory(use_case=use_case, baseline=Decimal("1"), value_per_unit=Decimal("100"))  # never observed
    assert realised(use_case) == Decimal("210.00")


def test_as_of_counts_only_what_was_observed_by_then():
    kpi = KPIFactory(baseline=Decimal("1"), value_per_unit=Decimal("100"))
    observe(kpi, "2", "4")  # 2026-01-15 and 2026-02-14
    assert realised(kpi.use_case, as_of=datetime.date(2026, 1, 31)) == Decimal("100.00")
    assert realised(kpi.use_case, as_of=datetime.date(2026, 1, 1)) is None


def test_realised_values_take_one_query_whatever_the_number_of_use_cases(django_assert_num_queries):
    def priced_use_cases(count):
        kpis = [KPIFactory(baseline=Decimal("1"), value_per_unit=Decimal("10")) for _ in range(count)]
        for kpi in kpis:
            observe(kpi, "2", "3")
        return [kpi.use_case.pk for kpi in kpis] + [UseCaseFactory().pk]

    for size in (1, 15):
        ids = priced_use_cases(size)
        with django_assert_num_queries(1):
            values = realised_values(ids)
        assert list(values.values()) == [Decimal("20.00")] * size + [None]


@pytest.mark.parametrize("value, currency, shown", [
    (Decimal("1234567.891"), "EUR", "1,234,568 EUR"),
    (Decimal("-400.00"), "USD", "-400 USD"),
    (Decimal("0.00"), "EUR", "0 EUR"),
    (None, "EUR", "—"),
])
def test_amounts_are_shown_to_the_unit_in_the_registrys_currency(settings, value, currency, shown):
    settings.LAST_MILE_CURRENCY = currency
    assert in_currency(value) == shown


def test_the_use_case_page_and_the_api_show_realised_beside_expected_value(client, program_office_user, settings):
    settings.LAST_MILE_CURRENCY = "EUR"
    use_case = UseCaseFactory(expected_annual_value=Decimal("90000"))
    kpi = KPIFactory(use_case=use_case, name="Churn", direction="lower", baseline=Decimal("0.08"),
                     value_per_unit=Decimal("1000000"), value_period="year")
    unpriced = KPIFactory(use_case=use_case, name="NPS", baseline=Decimal("20"))
    observe(kpi, "0.05")
    observe(unpriced, "25")

    client.force_login(program_office_user)
    page = client.get(reverse("web:use_case", args=[use_case.pk])).content.decode()
    assert "90,000 EUR" in page and "30,000 EUR</strong> a year" in page
    assert "Realises no known value: not priced (no value per unit)." in page

    api = APIClient()
    api.force_authenticate(program_office_user)
    detail = api.get(f"/api/use-cases/{use_case.pk}/").json()
    assert (detail["expected_annual_value"], detail["realised_annual_value"]) == ("90000.00", "30000.00")
    assert {k["name"]: k["realised_annual_value"] for k in detail["kpis"]} == {"Churn": "30000.00", "NPS": None}


def test_a_use_case_without_observations_says_its_value_is_not_known(client, program_office_user):
    use_case = UseCaseFactory()
    KPIFactory(use_case=use_case, baseline=Decimal("1"), value_per_unit=Decimal("5"))
    client.force_login(program_office_user)
    page = client.get(reverse("web:use_case", args=[use_case.pk])).content.decode()
    assert "Realises no known value: no observation yet." in page and "not known" in page
    api = APIClient()
    api.force_authenticate(program_office_user)
    assert api.get(f"/api/use-cases/{use_case.pk}/").json()["realised_annual_value"] is None
