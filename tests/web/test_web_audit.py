"""The audit log as an auditor meets it: the page with its filters and links, each record's part
of it, the streamed exports (pages and API), the integrity check, and where auditors land."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portfolio.models import FindingStatus
from portfolio.services.findings import change_finding_status
from registry import audit
from registry.models import AuditEntry, Stage, UseCase
from registry.selectors import audit as audit_selectors
from registry.services.decisions import save_decision
from registry.services.lifecycle import move_use_case
from registry.services.use_cases import edit_use_case
from tests.factories import BusinessUnitFactory, FindingFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(db):
    return UserFactory(username="ann", groups=["program_office"])


@pytest.fixture
def auditor(client, auditor_user):
    client.force_login(auditor_user)
    return client


def changed_and_moved(actor, *, unit=None, title="Claims triage"):
    use_case = UseCaseFactory(title=title, **({"decision__business_unit": unit, "business_unit": unit} if unit else {}))
    use_case.summary = "Routes each claim to the right desk."
    edit_use_case(use_case=use_case, actor=actor)
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=actor, reason="Data profiled")
    return use_case


def page_text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_an_auditor_lands_on_the_audit_log(auditor):
    response = auditor.get(reverse("web:home"))

    assert response.status_code == 302 and response.url == reverse("web:audit_log")


def test_the_log_shows_who_did_what_and_why_and_links_to_the_record(auditor, ann):
    use_case = changed_and_moved(ann)

    page = page_text(auditor.get(reverse("web:audit_log")))

    assert "Data profiled" in page and ">ann<" in page
    assert "Stage move" in page and "Proposed → Validating" in page
    assert reverse("web:use_case", args=[use_case.pk]) in page


def test_each_filter_narrows_the_log(auditor, ann):
    finance, sales = BusinessUnitFactory(name="Finance"), BusinessUnitFactory(name="Sales")
    changed_and_moved(ann, unit=finance, title="Invoice matching")
    bob = UserFactory(username="bob", groups=["program_office"])
    changed_and_moved(bob, unit=sales, title="Lead scoring")

    def shown(**params) -> str:
        return page_text(auditor.get(reverse("web:audit_log"), params))

    FindingFactory(title="Invoice matching stalled", use_cases=[UseCase.objects.get(title="Invoice matching")])
    FindingFactory(title="Lead scoring stalled", use_cases=[UseCase.objects.get(title="Lead scoring")])
    assert "Lead scoring" not in shown(unit=finance.pk) and "Invoice matching" in shown(unit=finance.pk)
    assert "Invoice matching stalled" in shown(unit=finance.pk, record_type="finding")
    assert "Invoice matching" not in shown(actor="bob") and "Lead scoring" in shown(actor="bob")
    by_kind = shown(kind="stage move")
    assert "Data profiled" in by_kind and "Routes each claim" not in by_kind
    assert "Data profiled" not in shown(record_type="use case", kind="changed")
    assert "No entry matches" in shown(since="2000-01-01", until="2000-12-31")


def test_a_filter_that_makes_no_sense_is_named_and_left_out(auditor, ann):
    changed_and_moved(ann)

    page = page_text(auditor.get(reverse("web:audit_log"), {"since": "yesterday", "kind": "shredded", "unit": "x"}))

    assert "since must be a date" in page and "Unknown kind of change" in page and "unit is the id" in page
    assert "Data profiled" in page


def test_the_api_refuses_a_filter_that_makes_no_sense_naming_each_field(auditor):
    response = auditor.get(reverse("api:audit-log"), {"since": "2026-13-01", "record_type": "spaceship",
                                                      "unit": "9" * 30, "subject_type": "usecase", "subject_id": "-1"})

    assert response.status_code == 400
    assert set(response.json()) == {"since", "record_type", "unit", "subject_id"}
    assert auditor.get(reverse("api:audit-log"), {"before": "9" * 30}).status_code == 400
    assert auditor.get(reverse("api:audit-log"), {"unit": "424242"}).status_code == 404
    assert auditor.get(reverse("api:audit-log"), {"actor": "a\x00b"}).status_code == 400
    assert auditor.get(reverse("web:audit_log"), {"before": "9" * 30, "unit": "9" * 30}).status_code == 200


def test_only_auditors_and_the_program_office_read_the_log(client, business_owner_user):
    client.force_login(business_owner_user)

    assert client.get(reverse("web:audit_log")).status_code == 403
    assert client.get(reverse("web:audit_export_csv")).status_code == 403
    assert client.get(reverse("api:audit-log")).status_code == 403
    assert client.get(reverse("api:audit-log-export")).status_code == 403


def test_a_use_case_page_shows_its_part_of_the_log(auditor, ann):
    use_case = changed_and_moved(ann)
    other = changed_and_moved(ann, title="Someone else's")
    other_move = AuditEntry.objects.get(subject_type="usecase", subject_id=other.pk, kind="stage move")

    page = page_text(auditor.get(reverse("web:use_case", args=[use_case.pk])))

    assert "Routes each claim to the right desk." in page and "Data profiled" in page
    assert f"subject_id={use_case.pk}" in page
    assert other_move.at.isoformat() not in page and "Someone else" not in page


def test_the_log_page_runs_the_same_queries_at_two_sizes(auditor, ann):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert auditor.get(reverse("web:audit_log")).status_code == 200
        return len(captured)

    changed_and_moved(ann)
    small = queries()
    for n in range(30):
        changed_and_moved(ann, title=f"Use case {n}")
    assert AuditEntry.objects.count() > audit_selectors.PAGE_SIZE * 2

    assert queries() == small


def test_older_pages_follow_on_without_gaps(auditor, ann):
    for n in range(20):
        changed_and_moved(ann, title=f"Use case {n}")
    expected = list(AuditEntry.objects.order_by("-at", "-id").values_list("id", flat=True))

    seen, url = [], reverse("api:audit-log")
    while url:
        body = auditor.get(url).json()
        seen += [entry["entry_id"] for entry in body["results"]]
        url = body["next"]

    assert seen == expected


@pytest.mark.parametrize("url_name", ["web:audit_export_csv", "api:audit-log-export"])
def test_the_csv_export_holds_every_entry_of_the_filter_across_batches(auditor, ann, monkeypatch, url_name):
    monkeypatch.setattr(audit_selectors, "EXPORT_BATCH", 7)
    for n in range(6):
        changed_and_moved(ann, title=f"Use case {n}")
    moves = AuditEntry.objects.filter(kind="stage move").count()

    response = auditor.get(reverse(url_name), {"kind": "stage move"})

    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == moves > 0
    assert {(row["actor"], row["reason"], row["changes"]) for row in rows} == {
        ("ann", "Data profiled", "stage: Proposed → Validating")}


def test_the_json_lines_export_carries_changes_and_chain_positions(auditor, ann):
    use_case = changed_and_moved(ann)
    audit.seal()

    response = auditor.get(reverse("web:audit_export_jsonl"), {"subject_type": "usecase", "subject_id": use_case.pk})

    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    edit = next(line for line in lines if line["kind"] == "changed" and line["actor"] == "ann"
                and any(c["field"] == "summary" for c in line["changes"]))
    assert edit["record"] == "Claims triage" and edit["seq"] and len(edit["chain_hash"]) == 64


def test_an_export_writes_a_formula_as_text(auditor, ann):
    use_case = UseCaseFactory()
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=ann, reason="=HYPERLINK(\"http://x\")")

    body = b"".join(auditor.get(reverse("web:audit_export_csv"), {"kind": "stage move"}).streaming_content).decode()

    assert "'=HYPERLINK" in body


def test_the_verify_page_says_intact_then_names_the_entry_changed_in_sql(auditor, ann):
    use_case = changed_and_moved(ann)
    audit.seal()
    assert "Intact" in page_text(auditor.get(reverse("web:audit_verify"), {"check": "1"}))
    first = use_case.history.order_by("history_id").first()
    entry = AuditEntry.objects.get(source_table="registry_historicalusecase", source_id=first.history_id)

    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_historicalusecase SET title = 'Edited' WHERE history_id = %s",
                       [first.history_id])

    page = page_text(auditor.get(reverse("web:audit_verify"), {"check": "1"}))
    assert "Broken" in page and f"entry {entry.pk} " in page


def test_the_head_downloads_as_an_anchor(auditor, ann):
    changed_and_moved(ann)
    head = audit.seal()

    web = json.loads(auditor.get(reverse("web:audit_anchor")).content)
    api = auditor.get(reverse("api:audit-log-head")).json()

    assert web["anchor"] == api["anchor"] == str(head)


def test_a_finding_and_a_decision_page_show_their_part_of_the_log(auditor, ann):
    use_case = UseCaseFactory()
    finding = FindingFactory(use_cases=[use_case])
    change_finding_status(finding=finding, to_status=FindingStatus.ACKNOWLEDGED, actor=ann, reason="Owner is on it")
    decision = use_case.decision
    decision.statement = "Which claims are fast-tracked each morning?"
    save_decision(decision=decision, actor=ann)

    finding_page = page_text(auditor.get(reverse("web:finding", args=[finding.pk])))
    decision_page = page_text(auditor.get(reverse("web:decision", args=[decision.pk])))

    assert "Owner is on it" in finding_page and "Open → Acknowledged" in finding_page
    assert "Which claims are fast-tracked each morning?" in decision_page and ">ann<" in decision_page
