"""A finding's evidence reads as sentences and tables on the finding's own page, whatever the
size of the finding and whatever keys its detail holds; the inbox lists a rollup's first members."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portfolio.detectors.base import Detected
from portfolio.models import Finding
from portfolio.services.findings import reconcile
from tests.factories import BusinessUnitFactory, DecisionFactory, PersonFactory, UseCaseFactory
from tests.web_setup import (AS_OF, htmx, others_finding, others_use_case, own_finding,  # noqa: F401  (fixtures)
                             own_use_case, owner_person)

pytestmark = pytest.mark.django_db

# How a Python dict, list or None shows through a template: never in the evidence.
REPRS = ("{&#x27;", "[&#x27;", "&#x27;:", "&#x27;,", "{&quot;", "[&quot;", "None", "True", "False", "{", "[")


def flag(kind, use_cases, detail, *, title="A finding", decisions=(), identity=None) -> Finding:
    detected = Detected(kind=kind, identity=identity or (kind, *[u.pk for u in use_cases]), severity="high",
                        title=title, use_case_ids=[u.pk for u in use_cases],
                        decision_ids=[d.pk for d in decisions], detail=detail)
    reconcile(kinds=[kind], detected=[detected], as_of=AS_OF)
    return Finding.objects.get(fingerprint=detected.fingerprint)


def row_in(body: str, finding: Finding) -> str:
    """The text of the finding's row in the inbox (tags removed)."""
    row = body[body.index(f'id="finding-{finding.pk}"'):]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row[:row.index("</tr>")]))


def page_text(body: str) -> str:
    main = body[body.index("<main"):body.index("</main>")]
    main = re.sub(r"<form.*?</form>", " ", main, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def assert_readable(text: str):
    for mark in REPRS:
        assert mark not in text, f"{mark!r} in {text!r}"


@pytest.fixture
def office(client, program_office_user):
    client.force_login(program_office_user)
    return client


def trio(**kwargs):
    units = [BusinessUnitFactory(name=name) for name in ("Finance", "Retail", "Logistics")]
    return [UseCaseFactory(title=f"Invoice capture {unit.name}", decision__business_unit=unit, **kwargs) for unit in units]


# The detail each detector writes today (portfolio/detectors/*), and what a person reads of it.
CASES = {
    "stalled_pilot": (1, {
        "stage": "pilot", "stage_entered_on": "2025-09-01", "days_in_stage": 120, "limit_days": 90,
        "days_since_activity": 75, "inactivity_limit_days": 60, "last_activity": "2025-10-01",
        "last_activity_kind": "kpi_observation", "days_over": 30, "cost_of_delay_per_day": 1500.0,
        "estimated_cost_of_delay": 45000.0, "decision_frequency": "daily",
        "reasons": ["in pilot for 120 days, 30 over the limit of 90"],
    }, [
        "In pilot since 2025-09-01: 120 days by the scan's date, 30 over the 90-day limit.",
        "No activity for 75 days, 15 over the 60-day limit: the last was a KPI observation on 2025-10-01.",
        "At the decision's stated cost of delay of 1,500 EUR a day, the 30 days over cost an estimated 45,000 EUR.",
        "The decision it serves is made daily.",
    ]),
    "duplicate_capability": (3, {
        "similarity": {"min": 0.4123, "mean": 0.5871},
        "pairs": [{"use_cases": ["UC-A", "UC-B"], "score": 0.6612}, {"use_cases": ["UC-B", "UC-C"], "score": 0.4123}],
        "shared_terms": ["invoice", "supplier", "extraction"],
        "business_units": ["Finance", "Logistics", "Retail"],
    }, [
        "3 use cases in Finance, Logistics and Retail appear to solve the same problem. "
        "They share the words invoice, supplier and extraction.",
        "Their descriptions are 0.59 alike on average",
        "0.41 for the least alike pair.",
        "Business unit Use case Stage", "How alike each pair is", "Invoice capture Finance Invoice capture Retail 0.66",
    ]),
    "orphaned_ownership": (3, {
        "object": "use_cases", "role": "business_owner", "owner": "agency-caio@mail.nasa.gov",
        "problem": "generic_mailbox", "count": 3, "in_production": 1, "business_units": ["NASA"],
    }, [
        "agency-caio@mail.nasa.gov, a shared mailbox, is the only business owner of 3 use cases of NASA, "
        "1 of them in production.",
        "Use case Stage Business unit",
    ]),
    "missing_decision": (1, {"use_case": "UC-A", "stage": "validating", "business_unit": "Finance",
                             "owner": "olga@example.com"}, [
        "of Finance is being validated and serves no stated decision.",
        "Its business owner, olga@example.com, should name the decision it changes.",
    ]),
    "broken_feedback_loop": (1, {
        "problem": "stale_observation", "kpis": ["Discount captured", "Hours saved"], "last_observation": "2026-05-01",
        "days_since_observation": 185, "in_production_since": "2025-01-10", "days_in_production": 661,
        "observation_limit_days": 90,
    }, [
        "In production since 2025-01-10 (661 days).",
        "Its KPIs: Discount captured and Hours saved. The last observation was on 2026-05-01, 185 days ago, "
        "95 over the 90-day limit.",
    ]),
    "inventory_completeness": (3, {
        "problem": "no_field", "fact": "kpi", "source": "omb-2025", "business_unit": "NASA", "count": 3,
        "by_stage": {"pilot": 1, "production": 2},
    }, [
        "3 use cases of NASA from the OMB 2025 inventory have no KPI.",
        "By stage", "Production 2",
    ]),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_kind_of_evidence_reads_as_sentences_and_tables(office, kind):
    size, detail, expected = CASES[kind]
    use_cases = trio()[:size]
    for use_case, key in zip(use_cases, ("UC-A", "UC-B", "UC-C")):
        use_case.external_id = key
        use_case.save(update_fields=["external_id"])
    finding = flag(kind, use_cases, detail, decisions=[use_cases[0].decision])

    own_page = page_text(office.get(reverse("web:finding", args=[finding.pk])).content.decode())

    for sentence in expected:
        assert sentence in own_page.replace("&#x27;", "'")
    assert_readable(own_page)
    assert use_cases[0].title in own_page


def test_keys_nobody_wrote_words_for_read_as_labelled_facts_lists_and_tables(office):
    use_case = UseCaseFactory(title="Churn offers")
    finding = flag("stalled_pilot", [use_case], {
        "stage": "pilot", "days_in_stage": 120, "limit_days": 90,
        "review_board": "AI council", "checked_on": "2026-10-01T09:30:00+00:00", "reviewers_required": 1200,
        "gaps": ["no model card", "no monitoring"],
        "scores": {"fairness": 0.81234, "robustness": 0.5},
        "reviews": [{"on": "2026-09-01", "outcome": "changes requested", "open_items": ["data sheet"]}],
        "lineage": {"source": {"system": "SAP", "tables": 3}},
        "flags": [],
        "escalated": False,
    })

    text = page_text(office.get(reverse("web:finding", args=[finding.pk])).content.decode())
    for expected in ("In pilot: 120 days by the scan", "30 over the 90-day limit",
                     "Review board: AI council.", "Checked on: 2026-10-01 09:30.", "Reviewers required: 1,200.",
                     "Gaps: no model card and no monitoring.", "Scores Fairness 0.81 Robustness 0.5",
                     "Reviews On Outcome Open items 2026-09-01 changes requested data sheet",
                     "Lineage: Source: System: SAP; Tables: 3.", "Flags: none.", "Escalated: no."):
        assert expected in text
    assert_readable(text)


def test_a_detail_that_is_not_a_dict_still_reads_as_words(office):
    finding = flag("missing_decision", [UseCaseFactory()], ["first gap", "second gap"])

    text = page_text(office.get(reverse("web:finding", args=[finding.pk])).content.decode())

    assert "Detail: first gap and second gap." in text
    assert_readable(text)


def test_a_large_finding_shows_its_first_use_cases_in_the_list_and_all_on_its_page(office):
    unit = BusinessUnitFactory(name="NASA")
    mailbox = PersonFactory(email="agency-caio@mail.nasa.gov", business_unit=unit)
    decision = DecisionFactory(business_unit=unit)
    members = UseCaseFactory.create_batch(130, decision=decision, business_owner=mailbox)
    finding = flag("orphaned_ownership", members, {
        "object": "use_cases", "role": "business_owner", "owner": mailbox.email, "problem": "generic_mailbox",
        "count": 130, "in_production": 0, "business_units": ["NASA"],
    }, decisions=[decision])
    titles = sorted(m.title for m in members)

    listed = row_in(office.get(reverse("web:findings")).content.decode(), finding)
    first_page = page_text(office.get(reverse("web:finding", args=[finding.pk])).content.decode())
    second_page = page_text(office.get(reverse("web:finding", args=[finding.pk]) + "?page=2").content.decode())

    assert "is the only business owner of 130 use cases of NASA" in first_page
    assert titles[4] in listed and titles[5] not in listed
    assert "… and 125 more" in listed and " NASA " in listed and " 130 " in listed
    assert "Use cases (130 in all)" in first_page and "Page 1 of 2" in first_page
    assert all(title in first_page for title in titles[:100]) and titles[100] not in first_page
    assert all(title in second_page for title in titles[100:])


def test_the_findings_list_runs_the_same_queries_however_many_use_cases_a_finding_has(office, django_assert_num_queries):
    unit = BusinessUnitFactory(name="NASA")
    decision = DecisionFactory(business_unit=unit)
    small = UseCaseFactory.create_batch(3, decision=decision)
    flag("orphaned_ownership", small, {"object": "use_cases", "role": "business_owner", "owner": "ai@nasa.gov",
                                       "problem": "generic_mailbox", "count": 3, "business_units": ["NASA"]},
         decisions=[decision])
    flag("duplicate_capability", trio(), {"similarity": {"min": 0.5, "mean": 0.6}, "pairs": [], "shared_terms": ["invoice"],
                                          "business_units": ["Finance", "Logistics", "Retail"]})
    url = reverse("web:findings")
    with CaptureQueriesContext(connection) as queries:
        office.get(url)

    many = UseCaseFactory.create_batch(400, decision=decision)
    decisions = DecisionFactory.create_batch(20, business_unit=unit)
    flag("orphaned_ownership", many, {"object": "use_cases", "role": "technical_owner", "owner": "data@nasa.gov",
                                      "problem": "generic_mailbox", "count": 400, "business_units": ["NASA"]},
         decisions=decisions)
    flag("inventory_completeness", many, {"problem": "blank", "fact": "stage", "source": "omb-2025",
                                          "business_unit": "NASA", "count": 400, "by_stage": {"proposed": 400}})

    with django_assert_num_queries(len(queries)):
        body = office.get(url).content.decode()
    assert body.count("… and 395 more") == 2


def test_a_findings_page_opens_only_for_those_who_see_it(client, business_owner_user, others_finding, own_finding):
    client.force_login(business_owner_user)

    assert client.get(reverse("web:finding", args=[others_finding.pk])).status_code == 404
    assert client.get(reverse("web:finding", args=[own_finding.pk])).status_code == 200
    assert client.get(reverse("web:finding", args=[999999])).status_code == 404


def test_answering_on_a_findings_page_keeps_its_full_evidence_below(office, own_finding):
    url = reverse("web:finding", args=[own_finding.pk])
    assert "Acknowledge" in office.get(url).content.decode()

    answer = office.post(reverse("web:finding_status", args=[own_finding.pk]),
                         {"action": "acknowledge", "next": url, "on_own_page": "1"}, **htmx())

    fragment = answer.content.decode()
    assert "Finding acknowledged." in fragment
    assert "<details" not in fragment and reverse("web:finding", args=[own_finding.pk]) not in fragment.split("</h3>")[0]


def test_a_use_cases_findings_link_to_their_own_pages(office, own_finding, own_use_case):
    body = office.get(reverse("web:use_case", args=[own_use_case.pk])).content.decode()
    assert reverse("web:finding", args=[own_finding.pk]) in body



def test_a_long_table_of_an_unknown_key_stays_out_of_the_inbox_and_is_whole_on_its_page(office):
    finding = flag("stalled_pilot", [UseCaseFactory()], {"checked_systems": [f"system {n:02}" for n in range(30)]})

    listed = row_in(office.get(reverse("web:findings")).content.decode(), finding)
    own_page = page_text(office.get(reverse("web:finding", args=[finding.pk])).content.decode())

    assert "system 00" not in listed
    assert "system 29" in own_page and "more" not in own_page
