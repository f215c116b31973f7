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
