"""Every page runs the same number of queries whatever the portfolio size."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.inventory.federal.mapping import PLACEHOLDER_STATEMENT
from registry.services.lifecycle import move_use_case
from registry.models import KPIObservation, Stage
from registry.services.kpis import record_kpi_observation
from tests.factories import DecisionFactory, KPIFactory, ProductionReadyUseCaseFactory, UseCaseFactory
from tests.web_setup import htmx, make_finding, owner_person  # noqa: F401  (fixtures)
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db


def grow(owner, n: int):
    """n more use cases: the owner's, with KPIs, observations, moves and findings; and others'."""
    made = []
    for i in range(n):
        use_case = ProductionReadyUseCaseFactory(business_owner=owner, decision__business_unit=owner.business_unit,
                                                 **({"decision__owner": owner} if i % 2 else {}))
        kpi = use_case.kpis.get()
        for day in range(1, 4):
            record_kpi_observation(kpi=kpi, observed_on=datetime.date(2026, 10, day), value=Decimal(day), actor=TEST_ACTOR)
        KPIFactory(use_case=use_case)
        move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)
        make_finding(use_case)
        make_finding(use_case, UseCaseFactory(), kind="duplicate_capability", title=f"Duplicate {i}")
        made.append(use_case)
    return made


def count(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return len(queries)


@pytest.fixture
def office(client, program_office_user):
    client.force_login(program_office_user)
    return client


def urls_for(use_case):
    return [
        reverse("web:home"),
        reverse("web:findings"),
        reverse("web:findings") + f"?unit={use_case.business_unit_id}&status=&kind=stalled_pilot",
        reverse("web:use_case", args=[use_case.pk]),
        reverse("web:decision", args=[use_case.decision_id]),
        reverse("web:use_case_edit", args=[use_case.pk]),
        reverse("web:kpi_new", args=[use_case.pk]),
        reverse("web:decision_new"),
        reverse("web:use_case_new", args=[use_case.decision_id]),
    ]


@pytest.mark.slow
def test_owner_pages_run_constant_queries(client, business_owner_user, owner_person, django_assert_num_queries):
    client.force_login(business_owner_user)
    first = grow(owner_person, 2)[0]
    small = {url: count(client, url) for url in urls_for(first)}
    card = count(client, reverse("web:use_case_card", args=[first.pk]), **htmx())

    grow(owner_person, 8)
    for _ in range(5):  # the first use case grows too: more observations, KPIs and history
        KPIFactory(use_case=first)
    for day in range(5, 20):
        record_kpi_observation(kpi=first.kpis.first(), observed_on=datetime.date(2026, 10, day), value=Decimal(day), actor=TEST_ACTOR)
    assert KPIObservation.objects.count() > 40

    for url, queries in small.items():
        with django_assert_num_queries(queries):
            client.get(url)
    with django_assert_num_queries(card):
        client.get(reverse("web:use_case_card", args=[first.pk]), **htmx())


def test_home_runs_constant_queries_with_use_cases_under_placeholders(client, business_owner_user, owner_person,
                                                                     django_assert_num_queries):
    """Imported use cases wait under placeholders, each card with its form to state the decision."""
    client.force_login(business_owner_user)

    def imported(n):
        for _ in range(n):
            placeholder = DecisionFactory(statement=PLACEHOLDER_STATEMENT, owner=None, is_defined=False,
                                          frequency="", cost_of_error=None)
            for _ in range(2):
                use_case = UseCaseFactory(business_owner=owner_person, decision=placeholder,
                                          business_unit=placeholder.business_unit)
                make_finding(use_case, kind="missing_decision", title=f"{use_case.title} serves no stated decision")

    grow(owner_person, 2)  # an owned decision too: the decision list runs its queries from the start
    imported(1)
    queries = count(client, reverse("web:home"))
    imported(5)
    grow(owner_person, 2)
    with django_assert_num_queries(queries):
        response = client.get(reverse("web:home"))
    assert response.content.decode().count("State the decision this use case changes") == 12


def test_office_dashboard_findings_and_export_run_constant_queries(office, owner_person, django_assert_num_queries):
    first = grow(owner_person, 2)[0]
    urls = [reverse("web:portfolio"), reverse("web:portfolio") + f"?unit={first.business_unit_id}",
            reverse("web:portfolio_export"), reverse("web:findings"), reverse("web:use_case", args=[first.pk]),
            reverse("web:import"), reverse("web:decision", args=[first.decision_id]),
            reverse("web:finding", args=[first.findings.get(kind="duplicate_capability").pk])]
    small = {url: count(office, url) for url in urls}
    grow(owner_person, 10)
    first.findings.get(kind="duplicate_capability").use_cases.add(*UseCaseFactory.create_batch(10))
    UseCaseFactory.create_batch(10)
    for url, queries in small.items():
        with django_assert_num_queries(queries):
            office.get(url)
