"""The audit log an auditor relies on: every kind of change once, with a named actor and its
reason; and tamper evidence that names the first entry changed or removed behind the
application's back."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from core.actors import import_of
from portfolio.models import Finding, FindingStatus, ScanRun
from portfolio.services.findings import change_finding_status
from portfolio.services.scans import run_scan_now
from registry import audit
from registry.inventory.directory import import_people
from registry.inventory.formats import import_use_cases
from registry.models import KPI, AuditEntry, Stage, UseCase
from registry.services.decisions import save_decision
from registry.services.determinations import determine_high_impact
from registry.services.kpis import add_kpi, record_kpi_observation
from registry.services.lifecycle import move_use_case
from registry.selectors.audit import rows_for
from registry.services.use_cases import edit_use_case
from tests.factories import BusinessUnitFactory, FindingFactory, PersonFactory, UseCaseFactory, UserFactory, signed_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(db):
    return UserFactory(username="ann", groups=["program_office"])


def entries_of(subject_type: str, subject_id: int, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(subject_type=subject_type, subject_id=subject_id, **filters).order_by("id"))


def only(entries: list[AuditEntry]) -> AuditEntry:
    assert len(entries) == 1, [str(e) for e in entries]
    return entries[0]


# --- every kind of change, once, with who and why ------------------------------------------


def test_a_decision_edit_is_logged_once_with_its_person(ann):
    decision = UseCaseFactory().decision
    decision.statement = "Which claims are fast-tracked each morning?"

    save_decision(decision=decision, actor=ann)

    entry = only(entries_of("decision", decision.pk, kind="changed"))
    assert entry.actor == "ann" and entry.actor_user_id == ann.pk and entry.record_type == "decision"


def test_a_use_case_edit_stage_move_and_sign_off_are_each_logged_once_with_actor_and_reason(ann):
    use_case = UseCaseFactory(title="Churn offers")
    use_case.title = "Churn retention offers"
    edit_use_case(use_case=use_case, actor=ann)
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=ann, reason="Data profiled with finance")
    approver = UserFactory(username="gatekeeper2", groups=["program_office"])
    signed_off(use_case, Stage.PILOT, by=approver, note="Pilot scope agreed")

    edit = entries_of("usecase", use_case.pk, kind="changed", record_type="use case")[0]
    assert edit.actor == "ann"
    assert ("title", "Churn offers", "Churn retention offers") in rows_for([edit])[0].changes
    move = only(entries_of("usecase", use_case.pk, kind="stage move"))
    assert (move.actor, move.reason) == ("ann", "Data profiled with finance")
    sign_off = only(entries_of("usecase", use_case.pk, kind="sign-off"))
    assert (sign_off.actor, sign_off.reason) == ("gatekeeper2", "Pilot scope agreed")
    assert sign_off.business_unit_id == use_case.business_unit_id


def test_kpis_their_observations_and_determinations_are_logged_on_the_use_case(ann):
    use_case = UseCaseFactory()
    kpi = add_kpi(kpi=KPI(use_case=use_case, name="Churn rate", unit="%", baseline=Decimal("5"), target=Decimal("4")),
                  actor=ann)
    record_kpi_observation(kpi=kpi, observed_on=datetime.date(2026, 3, 1), value=Decimal("4.5"), actor=ann)
    determine_high_impact(use_case=use_case, is_high_impact="not_high_impact", actor=ann)

    logged = {e.record_type: e for e in entries_of("usecase", use_case.pk) if e.record_type != "use case"}
    assert {"KPI", "KPI observation", "OMB determination"} <= set(logged)
    assert all(logged[name].actor == "ann" for name in ("KPI", "KPI observation", "OMB determination"))
    assert only([e for e in entries_of("usecase", use_case.pk) if e.record_type == "KPI observation"])


def test_an_import_is_a_named_actor_on_every_row_it_writes(tmp_path):
    (tmp_path / "people.csv").write_text("email,name,business_unit\nann@example.com,Ann,Finance\n")
    people = tmp_path / "people.csv"
    import_people(people, actor=import_of(people))
    (tmp_path / "inventory.csv").write_text(
        "external_id,title,business_unit,decision,business_owner,stage\n"
        "FIN-1,Invoice extraction,Finance,Which invoices are paid first?,ann@example.com,pilot\n")
    inventory = tmp_path / "inventory.csv"

    import_use_cases(inventory, actor=import_of(inventory))

    use_case = UseCase.objects.get(external_id="FIN-1")
    created = only(entries_of("usecase", use_case.pk, kind="created"))
    assert created.actor == "import of inventory.csv"
    assert "imported from inventory.csv" in created.reason
    assert only(entries_of("usecase", use_case.pk, kind="stage move")).actor == "import of inventory.csv"
    person = PersonFactory._meta.model.objects.get(email="ann@example.com")
    assert only(entries_of("person", person.pk)).actor == "import of people.csv"


def test_a_scan_is_a_named_actor_and_an_entry_of_its_own_and_answers_name_their_person(ann):
    UseCaseFactory(business_owner=PersonFactory(active=False))

    scan_run = run_scan_now(kinds=["orphaned_ownership"], actor=ann)

    finding = Finding.objects.get()
    opened = only(entries_of("finding", finding.pk, kind="created"))
    assert (opened.actor, opened.reason) == ("scan started by ann", "opened by a scan")
    # The opening is that one creation, not a status change of its own besides.
    assert not entries_of("finding", finding.pk, kind="finding status")
    run_entry = only(entries_of("scan", scan_run.pk))
    assert run_entry.kind == "scan" and run_entry.detail["opened"] == scan_run.opened

    change_finding_status(finding=finding, to_status=FindingStatus.ACKNOWLEDGED, actor=ann, reason="On it")

    answered = only(entries_of("finding", finding.pk, kind="finding status"))
    assert (answered.actor, answered.reason) == ("ann", "On it")
    assert audit.verify().intact


def test_no_entry_is_ever_unnamed_when_the_product_writes(ann):
    UseCaseFactory(business_owner=PersonFactory(active=False))
    written_before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()

    run_scan_now(kinds=["orphaned_ownership"], actor=ann)

    written = AuditEntry.objects.filter(id__gt=written_before)
    assert written.filter(record_type="finding").exists()
    assert not written.filter(actor__in=["", audit.UNNAMED]).exists()


def test_a_row_written_in_sql_without_a_named_actor_still_names_someone():
    unit = BusinessUnitFactory()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_businessunit SET name = 'Renamed' WHERE id = %s", [unit.pk])
        cursor.execute(
            "INSERT INTO registry_historicalbusinessunit (id, name, created_at, history_date, history_type, "
            "history_change_reason) VALUES (%s, 'Renamed', %s, %s, '~', 'by hand')",
            [unit.pk, unit.created_at, unit.created_at])

    entry = entries_of("unit", unit.pk, kind="changed")[-1]
    assert entry.actor == audit.UNNAMED and entry.reason == "by hand"


# --- the chain and its verification ---------------------------------------------------------


def _portfolio_with_history(ann):
    use_cases = [UseCaseFactory(title=f"Use case {n}") for n in range(3)]
    for use_case in use_cases:
        use_case.title += " (edited)"
        edit_use_case(use_case=use_case, actor=ann)
    move_use_case(use_case=use_cases[0], to_stage=Stage.VALIDATING, actor=ann, reason="Data checked")
    audit.seal()
    return use_cases


def test_verify_passes_on_an_untouched_log(ann, capsys):
    _portfolio_with_history(ann)

    call_command("verify_audit_trail")

    assert "The audit trail is intact" in capsys.readouterr().out


def test_verify_names_the_entry_whose_old_history_row_was_updated_in_sql(ann):
    use_cases = _portfolio_with_history(ann)
    old = use_cases[1].history.order_by("history_id").first()
    entry = AuditEntry.objects.get(source_table="registry_historicalusecase", source_id=old.history_id)

    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_historicalusecase SET title = 'Nothing to see' WHERE history_id = %s",
                       [old.history_id])

    with pytest.raises(CommandError) as failed:
        call_command("verify_audit_trail")
    assert f"entry {entry.pk} " in str(failed.value) and "was changed after it was written" in str(failed.value)


def test_verify_names_the_entry_whose_history_row_was_deleted_in_sql(ann):
    use_cases = _portfolio_with_history(ann)
    old = use_cases[2].history.order_by("history_id").first()
    entry = AuditEntry.objects.get(source_table="registry_historicalusecase", source_id=old.history_id)

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_historicalusecase WHERE history_id = %s", [old.history_id])

    with pytest.raises(CommandError) as failed:
        call_command("verify_audit_trail")
    assert f"entry {entry.pk} " in str(failed.value) and "was deleted" in str(failed.value)


def test_verify_names_an_entry_edited_or_removed_from_the_log_itself(ann):
    _portfolio_with_history(ann)
    edited, removed = AuditEntry.objects.order_by("seq")[2], AuditEntry.objects.order_by("seq")[5]

    AuditEntry.objects.filter(pk=edited.pk).update(actor="someone else")
    result = audit.verify()
    assert result.first_break.entry_id == edited.pk and "changed after it was sealed" in result.first_break.problem

    AuditEntry.objects.filter(pk=edited.pk).update(actor=edited.actor)
    AuditEntry.objects.filter(pk=removed.pk).delete()
    result = audit.verify()
    assert result.first_break.seq == removed.seq + 1 and "were removed" in result.first_break.problem


def test_verify_fails_after_a_stage_move_is_deleted_in_sql(ann):
    _portfolio_with_history(ann)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_stagetransition WHERE id = (SELECT MIN(id) FROM registry_stagetransition)")

    with pytest.raises(CommandError, match="First broken: entry"):
        call_command("verify_audit_trail")


def test_a_rewritten_log_is_caught_by_an_anchor_kept_elsewhere(ann):
    _portfolio_with_history(ann)
    kept = audit.chain_head()
    # Someone rewrites an entry and re-seals everything from there: the chain is consistent again...
    AuditEntry.objects.filter(seq__gte=3).update(seq=None, chain_hash="")
    AuditEntry.objects.filter(pk=AuditEntry.objects.order_by("id")[3].pk).update(reason="rewritten")
    audit.seal()
    assert audit.verify().intact

    # ...but not with the head an auditor copied before.
    with pytest.raises(CommandError, match="differs from the anchor"):
        call_command("verify_audit_trail", anchor=[str(kept)])


def test_an_anchor_that_makes_no_sense_is_refused_naming_it():
    with pytest.raises(CommandError, match="SEQ:HASH"):
        call_command("verify_audit_trail", anchor=["12:not-a-hash"])


def test_each_scan_records_the_chain_head_as_an_anchor(ann):
    UseCaseFactory()

    scan_run = run_scan_now(kinds=["orphaned_ownership"], actor=ann)

    scan_run = ScanRun.objects.get(pk=scan_run.pk)
    head = audit.chain_head()
    assert (scan_run.audit_head_seq, scan_run.audit_head_hash) == (head.seq, head.chain_hash)
    assert not AuditEntry.objects.filter(seq__isnull=True).exists()
    assert audit.verify(anchors=[head]).intact


def test_sealing_twice_changes_nothing(ann):
    _portfolio_with_history(ann)
    first = audit.seal()

    assert audit.seal() == first


def test_the_beat_task_seals_what_was_written_since_the_last_seal(ann):
    from portfolio.tasks import seal_audit_log_task

    _portfolio_with_history(ann)
    UseCaseFactory()
    assert AuditEntry.objects.filter(seq__isnull=True).exists()

    head = seal_audit_log_task()

    assert head == AuditEntry.objects.count() and not AuditEntry.objects.filter(seq__isnull=True).exists()


def test_the_admin_history_names_the_import_that_wrote_a_row(client, auditor_user, tmp_path):
    (tmp_path / "people.csv").write_text("email,name\nann@example.com,Ann\n")
    import_people(tmp_path / "people.csv", actor=import_of(tmp_path / "people.csv"))
    person = PersonFactory._meta.model.objects.get(email="ann@example.com")
    client.force_login(auditor_user)

    page = client.get(f"/admin/registry/person/{person.pk}/history/").content.decode()

    assert "import of people.csv" in page
