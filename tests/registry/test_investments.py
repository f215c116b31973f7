"""Investment per use case, value-chain layer and period: who records it, how a correction
lands, and the import (command and service) that refuses bad rows naming them, writing nothing."""

import datetime
from decimal import Decimal

import pytest

from core.actors import IMPORT
from core.errors import InvalidInput, NotAllowed
from registry.inventory.common import ImportFailed
from registry.inventory.investments import import_investments
from registry.models import Investment
from registry.services.investments import record_investment
from tests.factories import PersonFactory, UseCaseFactory, UserFactory
from tests.registry.test_importing import run, run_failing, write_csv, write_xlsx

pytestmark = pytest.mark.django_db

Q1, Q1_END = datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)
HEADER = "use_case,layer,period_start,period_end,planned,spent"


def _record(use_case, actor, **overrides):
    values = dict(layer="data", period_start=Q1, period_end=Q1_END, planned=Decimal("50000.00"),
                  spent=Decimal("42000.50"))
    values.update(overrides)
    return record_investment(use_case=use_case, actor=actor, **values)


@pytest.fixture
def owned(business_owner_user):
    owner = PersonFactory(email=business_owner_user.email)
    return UseCaseFactory(external_id="FIN-1", technical_owner=owner)


def test_the_program_office_records_and_a_second_record_corrects_it_keeping_history(program_office_user, owned):
    _record(owned, program_office_user)
    corrected = _record(owned, program_office_user, spent=Decimal("45000.00"))

    assert Investment.objects.count() == 1
    assert (corrected.spent, corrected.recorded_by) == (Decimal("45000.00"), program_office_user)
    history = list(corrected.history.order_by("history_date").values_list("spent", "history_user__username"))
    assert history == [(Decimal("42000.50"), "office"), (Decimal("45000.00"), "office")]


def test_a_use_cases_own_technical_owner_records_its_investment(business_owner_user, owned):
    assert _record(owned, business_owner_user).recorded_by == business_owner_user


@pytest.mark.parametrize("who", ["auditor", "stranger", "decision_owner"])
def test_auditors_and_people_who_do_not_own_the_use_case_cannot_record(who, owned, auditor_user):
    if who == "auditor":
        actor = auditor_user
    else:
        actor = UserFactory(username=who, groups=["business_owner"])
        person = PersonFactory(email=actor.email)
        if who == "decision_owner":
            owned.decision.owner = person
            owned.decision.save()
    with pytest.raises(NotAllowed):
        _record(owned, actor)
    assert not Investment.objects.exists()


@pytest.mark.parametrize("overrides, field", [
    ({"period_end": datetime.date(2025, 12, 31)}, "period_end"),
    ({"planned": Decimal("-1")}, "planned"),
    ({"spent": Decimal("1.234")}, "spent"),
    ({"layer": "marketing"}, "layer"),
])
def test_garbage_is_refused_naming_the_field_and_nothing_is_written(program_office_user, owned, overrides, field):
    with pytest.raises(InvalidInput) as refused:
        _record(owned, program_office_user, **overrides)
    assert field in refused.value.field_errors()
    assert not Investment.objects.exists()


# The import ------------------------------------------------------------------------------------


def test_the_command_imports_a_file_and_importing_it_again_changes_nothing(owned, tmp_path):
    UseCaseFactory(external_id="OPS-2")
    path = write_csv(tmp_path, [HEADER, "FIN-1,data,2026-01-01,2026-03-31,50000,42000.50",
                                "FIN-1,model,2026-01-01,2026-03-31,120000,",
                                "OPS-2,Inference,2026-04-01,2026-06-30,,9000"])

    out, _ = run("import_investments", path)
    assert "3 rows read: 3 investments were created, 0 updated, 0 unchanged." in out
    assert set(Investment.objects.values_list("use_case__external_id", "layer", "planned", "spent")) == {
        ("FIN-1", "data", Decimal("50000.00"), Decimal("42000.50")),
        ("FIN-1", "model", Decimal("120000.00"), Decimal("0.00")),
        ("OPS-2", "inference", Decimal("0.00"), Decimal("9000.00")),
    }
    again, _ = run("import_investments", path)
    assert "0 investments were created, 0 updated, 3 unchanged." in again
    assert Investment.objects.get(layer="data").history.count() == 1


def test_an_import_corrects_what_the_pages_recorded(owned, program_office_user, tmp_path):
    _record(owned, program_office_user)
    path = write_csv(tmp_path, [HEADER, "FIN-1,data,2026-01-01,2026-03-31,50000,47000"])
    out, _ = run("import_investments", path)
    assert "0 investments were created, 1 updated" in out
    investment = Investment.objects.get()
    assert investment.spent == Decimal("47000.00") and investment.recorded_by is None
    assert investment.history.first().history_change_reason == "import"


def test_an_xlsx_file_imports_like_a_csv(owned, tmp_path):
    path = write_xlsx(tmp_path, [HEADER.split(","), ["FIN-1", "orchestration", "2026-01-01", "2026-12-31", 800, 200]])
    run("import_investments", path)
    assert Investment.objects.get().layer == "orchestration"


def test_bad_rows_are_named_with_their_column_and_nothing_is_written(owned, tmp_path):
    path = write_csv(tmp_path, [
        HEADER,
        "FIN-1,data,2026-01-01,2026-03-31,100,50",  # good, but the file fails as a whole
        "NOPE-9,data,2026-01-01,2026-03-31,100,50",
        "FIN-1,compute,2026-01-01,2026-03-31,100,50",
        "FIN-1,model,2026-04-01,2026-03-31,-5,lots",
        "FIN-1,data,2026-01-01,2026-06-30,1,1",
        "FIN-1,,,2026-03-31,1,1",
    ])
    err, message = run_failing("import_investments", path)

    assert err.splitlines() == [
        "row 2, column use_case: no use case with external id 'NOPE-9' (import the use cases first)",
        "row 3, column layer: 'compute' is not one of: data, infrastructure, model, orchestration, inference",
        "row 4, column period_end: 2026-03-31 is before period_start 2026-04-01",
        "row 4, column planned: must not be negative (got -5)",
        "row 4, column spent: 'lots' is not a number",
        "row 5, column period_start: row 1 already gives FIN-1's data investment for the period from 2026-01-01",
        "row 6, column layer: is required",
        "row 6, column period_start: is required",
    ]
    assert "8 problems found; nothing was imported." in message
    assert not Investment.objects.exists()


def test_a_file_without_the_required_columns_is_refused(owned, tmp_path):
    err, _ = run_failing("import_investments", write_csv(tmp_path, ["use_case,planned", "FIN-1,5"]))
    assert "missing required columns: layer, period_start, period_end" in err


def test_only_the_program_office_imports(owned, business_owner_user, tmp_path):
    path = write_csv(tmp_path, [HEADER, "FIN-1,data,2026-01-01,2026-03-31,100,50"])
    with pytest.raises(NotAllowed):
        import_investments(path, actor=business_owner_user)
    assert import_investments(path, actor=IMPORT, dry_run=True).created == 1
    assert not Investment.objects.exists()


def test_the_import_service_raises_import_failed_with_row_errors(owned, tmp_path):
    path = write_csv(tmp_path, [HEADER, "FIN-1,data,someday,2026-03-31,100,50"])
    with pytest.raises(ImportFailed) as failed:
        import_investments(path, actor=IMPORT)
    assert [str(e) for e in failed.value.errors] == [
        "row 1, column period_start: 'someday' is not a date in the form YYYY-MM-DD"]
