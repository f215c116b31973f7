"""Numbers and dates read one way on every page: the settings' locale (config/formats/), counts
and amounts grouped, dates as ISO days."""

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse

from tests.factories import DecisionFactory, KPIFactory, PersonFactory, UseCaseFactory

pytestmark = pytest.mark.django_db


def test_a_decisions_costs_are_grouped_amounts_in_the_currency(client, program_office_user, settings):
    settings.LAST_MILE_CURRENCY = "EUR"
    decision = DecisionFactory(cost_of_error=Decimal("167000.00"), cost_of_delay_per_day=Decimal("3611.00"))
    client.force_login(program_office_user)
    page = client.get(reverse("web:decision", args=[decision.pk])).content.decode()
    assert "167,000 EUR" in page and "3,611 EUR" in page and "167000.00" not in page


def test_kpi_figures_on_a_card_are_grouped_without_trailing_zeros(client, business_owner_user):
    use_case = UseCaseFactory(business_owner=PersonFactory(email=business_owner_user.email))
    KPIFactory(use_case=use_case, name="Claims handled", unit="claims", baseline=Decimal("12500.5000"),
               target=Decimal("20000.0000"))
    client.force_login(business_owner_user)
    page = client.get(reverse("web:home"), {"view": "work"}).content.decode()
    assert "baseline 12,500.5" in page and "target 20,000" in page


def test_a_date_written_without_a_format_reads_as_an_iso_day_and_ids_stay_ungrouped():
    rendered = Template("{{ day }} {{ moment }} {{ pk }}").render(Context({
        "day": datetime.date(2026, 11, 30), "moment": datetime.datetime(2026, 11, 30, 9, 5), "pk": 12345}))
    assert rendered == "2026-11-30 2026-11-30 09:05 12345"
