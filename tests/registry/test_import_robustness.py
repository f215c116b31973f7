"""Import commands on the files of issue 17: a re-import under a decision not known yet, NUL
bytes past the first 8 KB, XLSX zip bombs, files past the limits, and failures while writing.

Each ends as the contract says: a `row N, column C: message` (or one clear line), exit non-zero,
nothing written; never a traceback, a DataError or an IntegrityError.
"""

import csv
import io
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from openpyxl import Workbook

from registry.models import BusinessUnit, Decision, Person, StageTransition, UseCase

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
HEADER = "external_id,title,business_unit,decision,stage"
FILLER = "x" * 90


def write_csv(tmp_path, lines, name="inventory.csv"):
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode())
    return path


def good_lines(count, start=1):
    return [f"UC-{i},Use case {i} {FILLER},Finance,Which invoices are paid early?,proposed" for i in range(start, start + count)]


def run(command, path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, str(path), *args, stdout=out, stderr=err)
    return out.getvalue()


def run_failing(command, path, *args):
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(command, str(path), *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue(), str(raised.value)


def nothing_written():
    return not (UseCase.objects.exists() or Decision.objects.exists() or BusinessUnit.objects.exists()
                or StageTransition.objects.exists())


def xlsx_bomb(path, rows, *, row_xml=None):
    """A real workbook whose first sheet is `rows` identical data rows, deflated: the repetition
    compresses some 250 to 1, so 2,000,000 rows make a 1.5 MB file of 400 MB of XML."""
    workbook = Workbook()
    workbook.active.append(["external_id", "title", "business_unit", "decision"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    cells = lambda values: "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values)  # noqa: E731
    row_xml = row_xml or f"<row>{cells(['FIN-1', 'Invoice capture', 'Finance', 'Which invoices are paid?'])}</row>"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(info.filename, source.read(info.filename))
                continue
            with bomb.open(info.filename, "w") as sheet:
                # The dimension a spreadsheet program writes first; a bomb's may say what it likes.
                sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                            b'<dimension ref="A1:D2"/><sheetData>')
                sheet.write(f"<row>{cells(['external_id', 'title', 'business_unit', 'decision'])}</row>".encode())
                block = row_xml.encode() * 10_000
                for _ in range(rows // 10_000):
                    sheet.write(block)
                sheet.write(row_xml.encode() * (rows % 10_000))
                sheet.write(b"</sheetData></worksheet>")
    return path


# Re-import under a decision the registry does not know yet ---------------------------------------


def test_reimport_under_a_new_decision_moves_the_use_case_to_it_created(db, tmp_path):
    run("import_use_cases", write_csv(tmp_path, [HEADER, "FIN-1,Invoice capture,Finance,Which invoices are paid?,pilot"]))
    old = Decision.objects.get()

    out = run("import_use_cases", write_csv(tmp_path, [
        HEADER,
        "FIN-1,Invoice capture,Finance,Which invoices are paid this week?,pilot",
        "FIN-2,Cash forecast,Finance,Which invoices are paid this week?,proposed",
    ]))

    use_case = UseCase.objects.get(external_id="FIN-1")
    assert use_case.decision.statement == "Which invoices are paid this week?"
    assert use_case.decision.business_unit.name == "Finance" and use_case.decision != old
    assert UseCase.objects.get(external_id="FIN-2").decision == use_case.decision
    assert use_case.version == 2
    assert use_case.history.first().decision_id == use_case.decision_id
    assert Decision.objects.count() == 2  # the old decision stays, with its history
    assert "1 use cases were created, 1 updated" in out


def test_reimport_under_a_new_unit_and_decision_moves_the_use_case(db, tmp_path):
    run("import_use_cases", write_csv(tmp_path, [HEADER, "FIN-1,Invoice capture,Finance,Which invoices are paid?,pilot"]))

    run("import_use_cases", write_csv(tmp_path, [HEADER, "FIN-1,Invoice capture,Treasury,Which invoices are paid?,pilot"]))

    use_case = UseCase.objects.get()
    assert (use_case.business_unit.name, use_case.decision.business_unit.name) == ("Treasury", "Treasury")


# NUL bytes ------------------------------------------------------------------------------------------


def test_a_nul_byte_after_the_first_8_kb_is_a_row_error_of_the_check(db, tmp_path):
    lines = [HEADER, *good_lines(120)]
    lines.insert(101, "UC-X,Invoice\x00capture,Finance,Which invoices are paid early?,proposed")
    path = write_csv(tmp_path, lines)
    assert path.read_bytes().index(b"\x00") > 8192

    err, message = run_failing("import_use_cases", path, "--dry-run")
    assert "row 101, column title: contains a NUL character" in err
    assert "1 problem found; nothing was imported." in message

    err, _ = run_failing("import_use_cases", path)
    assert "row 101, column title: contains a NUL character" in err
    assert nothing_written()


def test_nul_bytes_in_looked_up_columns_are_row_errors_too(db, tmp_path):
    Person.objects.create(email="ana@example.com")
    lines = [HEADER + ",business_owner", *(line + ",ana@example.com" for line in good_lines(120))]
    lines[110] = "UC-\x00X,T,Fin\x00ance,Which\x00?,proposed,ana\x00@example.com"
    path = write_csv(tmp_path, lines)

    err, _ = run_failing("import_use_cases", path)

    for column in ("external_id", "business_unit", "decision", "business_owner"):
        assert f"row 110, column {column}: contains a NUL character" in err
    assert len(err.strip().splitlines()) == 4  # each cell once: not again as an unknown person
    assert "\x00" not in err
    assert nothing_written()


def test_import_people_reports_a_nul_byte_after_8_kb(db, tmp_path):
    lines = ["email,name", *(f"p{i}@example.com,Person {i} {FILLER}" for i in range(120))]
    lines[115] = "p114@example.com,Per\x00son"
    path = write_csv(tmp_path, lines)

    err, _ = run_failing("import_people", path)

    assert "row 115, column name: contains a NUL character" in err
    assert not Person.objects.exists()


def test_the_federal_import_reports_a_nul_byte_after_8_kb(db, tmp_path):
    from registry.inventory.federal.mapping import COLUMNS_2025

    path = tmp_path / "federal.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS_2025)
        writer.writeheader()
        for i in range(120):
            writer.writerow({c: "" for c in COLUMNS_2025} | dict(
                agency="DOE", agency_name="Department of Energy", use_case_name=f"Copilot {i} {FILLER}",
                development_stage="Pilot", benefits="Saves time\x00" if i == 99 else "Saves time"))

    err, _ = run_failing("import_use_cases", path, "--format", "omb-2025")

    assert "row 100, column benefits: contains a NUL character" in err
    assert nothing_written()


# Limits -----------------------------------------------------------------------------------------------


def test_the_zip_bomb_of_the_issue_is_refused_before_it_is_expanded(db, tmp_path):
    path = xlsx_bomb(tmp_path / "inventory.xlsx", 2_000_000)
    assert path.stat().st_size < 2_000_000

    started = time.monotonic()
    err, message = run_failing("import_use_cases", path)

    assert time.monotonic() - started < 5
    assert "inventory.xlsx: the workbook would expand" in err and "refused as a likely zip bomb" in err
    assert "1 problem found; nothing was imported." in message
    assert nothing_written()


@override_settings(IMPORT_MAX_XLSX_COMPRESSION_RATIO=100_000, IMPORT_MAX_XLSX_EXPANDED_BYTES=10_000_000)
def test_a_workbook_expanding_past_the_size_limit_is_refused_from_its_zip_directory(db, tmp_path):
    path = xlsx_bomb(tmp_path / "inventory.xlsx", 100_000)
    expanded = sum(member.file_size for member in zipfile.ZipFile(path).infolist())

    err, _ = run_failing("import_use_cases", path)

    assert f"the workbook expands to {expanded:,} bytes" in err and "at most 10,000,000 bytes are read" in err


@override_settings(IMPORT_MAX_XLSX_COMPRESSION_RATIO=100_000, IMPORT_MAX_ROWS=1_000)
def test_a_workbook_past_the_row_limit_is_refused_while_reading(db, tmp_path):
    path = xlsx_bomb(tmp_path / "inventory.xlsx", 300_000)

    started = time.monotonic()
    err, _ = run_failing("import_use_cases", path)

    assert time.monotonic() - started < 5
    assert "inventory.xlsx: the file has more than 1,000 rows under its header; split it into files of at most 1,000 rows" in err


@override_settings(IMPORT_MAX_ROWS=100)
def test_a_csv_past_the_row_limit_is_refused(db, tmp_path):
    at_limit = write_csv(tmp_path, [HEADER, *good_lines(100)], name="at-limit.csv")
    run("import_use_cases", at_limit, "--dry-run")

    err, _ = run_failing("import_use_cases", write_csv(tmp_path, [HEADER, *good_lines(101)]))

    assert "the file has more than 100 rows under its header" in err
    assert nothing_written()


@override_settings(IMPORT_MAX_CELLS=1_000)
def test_a_file_past_the_cell_limit_is_refused(db, tmp_path):
    wide = ",".join(f"extra_{i}" for i in range(95))
    lines = [HEADER + "," + wide, *(line + "," * 95 for line in good_lines(20))]

    err, _ = run_failing("import_use_cases", write_csv(tmp_path, lines))

    assert "the file has more than 1,000 cells" in err


@override_settings(IMPORT_MAX_XLSX_COMPRESSION_RATIO=100_000)
def test_one_row_of_sixteen_thousand_columns_counts_against_the_cell_limit(db, tmp_path):
    far = '<row><c r="XFD{n}" t="inlineStr"><is><t>x</t></is></c></row>'
    path = xlsx_bomb(tmp_path / "inventory.xlsx", 1, row_xml=far.format(n=2))

    with override_settings(IMPORT_MAX_CELLS=10_000):
        err, _ = run_failing("import_use_cases", path)

    assert "the file has more than 10,000 cells" in err


def test_only_the_first_thousand_problems_are_listed(db, tmp_path):
    lines = [HEADER, *(f"UC-{i},,Finance,Which?,flying" for i in range(1, 801))]  # two problems a row

    err, message = run_failing("import_use_cases", write_csv(tmp_path, lines))

    listed = [line for line in err.strip().splitlines() if not line.startswith("checking rows")]  # the progress bar
    assert len(listed) == 1001
    assert listed[999] == "row 500, column title: is required"
    assert listed[-1] == "… and 600 more problems (only the first 1,000 are listed)"
    assert "1600 problems found; nothing was imported." in message


@override_settings(IMPORT_MAX_ERRORS=3)
def test_the_number_of_problems_listed_is_a_setting(db, tmp_path):
    lines = [HEADER, *(f"UC-{i},,Finance,Which?,proposed" for i in range(1, 11))]

    err, _ = run_failing("import_use_cases", write_csv(tmp_path, lines))

    assert err.strip().splitlines()[-1] == "… and 7 more problems (only the first 3 are listed)"


# Failures while writing -------------------------------------------------------------------------------


def test_a_database_error_while_writing_is_one_line_naming_the_row_and_nothing_is_written(db, tmp_path, monkeypatch):
    from registry.inventory import contract

    run("import_use_cases", write_csv(tmp_path, [HEADER, "FIN-7,Invoice capture,Finance,Which invoices are paid?,pilot"]))
    before = (UseCase.objects.get().version, Decision.objects.count(), BusinessUnit.objects.count())
    # Someone registers FIN-7 between the import's look-up and its write: the write hits the key.
    monkeypatch.setattr(contract, "existing_use_cases", lambda ids: {})

    err, message = run_failing("import_use_cases", write_csv(tmp_path, [
        HEADER, "NEW-1,New,Legal,Which contracts are renewed?,proposed",
        "FIN-7,Invoice capture,Finance,Which invoices are paid this week?,pilot",
    ]))

    assert "\n" not in message and "Traceback" not in err + message
    assert "could not be written to the registry (IntegrityError" in message and "nothing was imported" in message
    if connection.vendor == "postgresql":
        assert message.startswith("row 2: ")
    assert (UseCase.objects.get().version, Decision.objects.count(), BusinessUnit.objects.count()) == before


def test_an_unexpected_error_is_one_line_and_nothing_is_written(db, tmp_path, monkeypatch):
    from registry.inventory import contract

    def broken(**kwargs):
        raise RuntimeError("the disk caught fire\nand more detail")

    monkeypatch.setattr(contract, "write_use_cases", broken)

    _, message = run_failing("import_use_cases", write_csv(tmp_path, [HEADER, *good_lines(3)]))

    assert message == ("the import stopped on an unexpected error (RuntimeError: the disk caught fire); "
                       "nothing was imported. Run it again with --traceback to see where.")
    assert nothing_written()


RACE_SCRIPT = textwrap.dedent("""
    import sys
    import django
    django.setup()
    from django.core.management import call_command, execute_from_command_line
    from registry.inventory import contract
    call_command("migrate", verbosity=0)
    call_command("import_use_cases", sys.argv[1], verbosity=0)
    contract.existing_use_cases = lambda ids: {}  # a concurrent writer registered them meanwhile
    execute_from_command_line(["manage.py", "import_use_cases", sys.argv[1]])
""")


@pytest.mark.slow  # a migrated database of its own: some 6 s
def test_the_command_prints_no_traceback_when_the_write_fails(tmp_path):
    path = write_csv(tmp_path, [HEADER, "FIN-1,Invoice capture,Finance,Which invoices are paid?,pilot"])
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "",
            "DJANGO_SETTINGS_MODULE": "config.settings.base"}

    result = subprocess.run([sys.executable, "-c", RACE_SCRIPT, str(path)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "could not be written to the registry (IntegrityError" in lines[0] and "nothing was imported" in lines[0]
