"""The portfolio page's open findings by kind and unit show every write at once: a scan's
findings (a duplicate across two units in each, a finding about a decision alone in the
decision's unit), an answer that closes or reopens one, a use case or a decision moved to another
unit, a scan no longer detecting one, a reset. They are kept by triggers in the writing
transaction (ActiveFindingUnit), and always equal what the links say."""

import csv
import datetime
import io
from collections import Counter

import pytest
from django.urls import reverse

from demo.reset import clear_registry
from portfolio.detectors.base import Detected
from portfolio.models import ACTIVE_STATUSES, ActiveFindingUnit, Finding, FindingStatus
from portfolio.services.findings import change_finding_status, reconcile
from registry.services.decisions import save_decision
from registry.services.use_cases import edit_use_case
from tests.factories import DecisionFactory
from tests.web.test_value_stays_current import office, units, use_case_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 2)


def open_findings(client, unit=None) -> dict[tuple[str, str], int]:
    """The page's CSV: its open findings by (unit, kind), the zeros left out."""
    query = {} if unit is None else {"unit": unit.pk}
    rows = csv.reader(io.StringIO(client.get(reverse("web:portfolio_export"), query).content.decode()))
    return {(name, kind): int(n) for table, _, name, kind, n in rows if table == "open findings" and n != "0"}


def scan(*detected: Detected, kinds=("duplicate_capability", "orphaned_ownership")):
    reconcile(kinds=list(kinds), as_of=AS_OF, detected=list(detected))


def duplicates(*use_cases) -> Detected:
    return Detected(kind="duplicate_capability", identity=("pair",), severity="high", title="Built twice",
                    use_case_ids=[u.pk for u in use_cases], decision_ids=[u.decision_id for u in use_cases])


def unowned(decision) -> Detected:
    return Detected(kind="orphaned_ownership", identity=("decision", decision.pk), severity="medium",
                    title="A decision nobody owns", decision_ids=[decision.pk])


def assert_units_match_links():
    """The kept rows are exactly what the links say: each active finding once per unit of its use
    cases, or of its decisions when it concerns none."""
    expected = set()
    for finding in Finding.objects.filter(status__in=ACTIVE_STATUSES).prefetch_related("use_cases", "decisions"):
        linked = finding.use_cases.all() or finding.decisions.all()
        expected |= {(finding.pk, item.business_unit_id, finding.kind) for item in linked}
    assert set(ActiveFindingUnit.objects.values_list("finding_id", "business_unit_id", "kind")) == expected


def test_a_scans_findings_count_once_in_each_unit_they_concern(office, units):
    finance, sales = units
    twice_in_finance = [use_case_in(finance), use_case_in(finance), use_case_in(sales)]
    lone_decision = DecisionFactory(business_unit=sales)

    scan(duplicates(*twice_in_finance), unowned(lone_decision))

    assert open_findings(office) == {("Finance", "duplicate_capability"): 1, ("Sales", "duplicate_capability"): 1,
                                     ("Sales", "orphaned_ownership"): 1}
    assert open_findings(office, sales) == {("Sales", "duplicate_capability"): 1, ("Sales", "orphaned_ownership"): 1}
    assert_units_match_links()


def test_an_answer_that_closes_a_finding_takes_it_off_and_reopening_puts_it_back(office, units, program_office_user):
    finance, sales = units
    scan(duplicates(use_case_in(finance), use_case_in(sales)))
    finding = Finding.objects.get()

    change_finding_status(finding=finding, to_status=FindingStatus.ACKNOWLEDGED, actor=program_office_user)
    assert open_findings(office) == {("Finance", "duplicate_capability"): 1, ("Sales", "duplicate_capability"): 1}

    change_finding_status(finding=finding, to_status=FindingStatus.DISMISSED, actor=program_office_user,
                          reason="One is the other's test copy.")
    assert open_findings(office) == {}
    assert_units_match_links()

    change_finding_status(finding=finding, to_status=FindingStatus.OPEN, actor=program_office_user)
    assert open_findings(office) == {("Finance", "duplicate_capability"): 1, ("Sales", "duplicate_capability"): 1}
    assert_units_match_links()


def test_a_use_case_or_a_decision_moved_to_another_unit_takes_its_findings_with_it(office, units, program_office_user):
    finance, sales = units
    pair = [use_case_in(finance), use_case_in(sales)]
    lone_decision = DecisionFactory(business_unit=sales)
    scan(duplicates(*pair), unowned(lone_decision))

    pair[1].business_unit = finance
    edit_use_case(use_case=pair[1], actor=program_office_user)
    lone_decision.business_unit = finance
    save_decision(decision=lone_decision, actor=program_office_user)

    assert open_findings(office) == {("Finance", "duplicate_capability"): 1, ("Finance", "orphaned_ownership"): 1}
    assert_units_match_links()


def test_a_finding_no_longer_detected_or_detected_on_other_use_cases_counts_where_it_now_is(office, units):
    finance, sales = units
    first, second, third = use_case_in(finance), use_case_in(finance), use_case_in(sales)
    lone_decision = DecisionFactory(business_unit=sales)
    scan(duplicates(first, second), unowned(lone_decision))

    scan(duplicates(first, third))  # the same pair's identity, now on other use cases; the decision is owned again
    assert open_findings(office) == {("Finance", "duplicate_capability"): 1, ("Sales", "duplicate_capability"): 1}
    assert_units_match_links()

    scan()
    assert open_findings(office) == {}
    assert ActiveFindingUnit.objects.count() == 0


def test_a_finding_about_decisions_that_comes_to_concern_a_use_case_counts_in_the_use_cases_unit(office, units):
    finance, sales = units
    lone_decision = DecisionFactory(business_unit=sales)
    scan(unowned(lone_decision))

    served = use_case_in(finance)
    scan(Detected(kind="orphaned_ownership", identity=("decision", lone_decision.pk), severity="medium",
                  title="A decision nobody owns", decision_ids=[lone_decision.pk], use_case_ids=[served.pk]))

    assert open_findings(office) == {("Finance", "orphaned_ownership"): 1}
    assert_units_match_links()


def test_a_reset_registry_leaves_no_count(office, units):
    finance, sales = units
    scan(duplicates(use_case_in(finance), use_case_in(sales)), unowned(DecisionFactory(business_unit=sales)))

    clear_registry()  # seed_demo --reset: raw deletes, the findings' links before the findings

    assert open_findings(office) == {}
    assert ActiveFindingUnit.objects.count() == 0


def test_the_counts_add_up_over_many_findings(office, units):
    finance, sales = units
    use_cases = [use_case_in(finance if n % 3 else sales) for n in range(12)]
    scan(*[Detected(kind="duplicate_capability", identity=("group", n), severity="high", title=f"Group {n}",
                    use_case_ids=[u.pk for u in use_cases[n:n + 3]]) for n in range(0, 12, 2)])

    per_unit = Counter()
    for finding in Finding.objects.prefetch_related("use_cases"):
        per_unit.update({u.business_unit.name for u in finding.use_cases.all()})
    assert open_findings(office) == {(name, "duplicate_capability"): n for name, n in per_unit.items()}
    assert_units_match_links()
