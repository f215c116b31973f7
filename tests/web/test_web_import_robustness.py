"""Import page jobs on the files of issue 17: whatever happens, a job ends in a final state with a
message (never "Checking" or "Importing" forever), stores at most the capped error list, and
writes nothing when it fails."""

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from config.celery import app as celery_app
from registry.models import BusinessUnit, Decision, UseCase
from tests.registry.test_import_robustness import FILLER, HEADER, good_lines, xlsx_bomb
from web.imports import check_upload, run_import, store_upload
from web.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(client, program_office_user, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    client.force_login(program_office_user)
    return client


def upload(client, name, content, capture):
    with capture(execute=True):
        return client.post(reverse("web:import"), {"file": SimpleUploadedFile(name, content)})


def csv_bytes(lines):
    return ("\n".join(lines) + "\n").encode()


def confirm(client, job, capture):
    with capture(execute=True):
        client.post(reverse("web:import_job", args=[job.pk]))
    job.refresh_from_db()
    return job


def test_a_reimport_under_a_new_decision_is_imported_through_the_page(office, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    upload(office, "first.csv", csv_bytes([HEADER, "FIN-1,Invoice capture,Finance,Which invoices are paid?,pilot"]), capture)
    confirm(office, ImportJob.objects.get(), capture)

    upload(office, "second.csv", csv_bytes([HEADER, "FIN-1,Invoice capture,Finance,Which are paid this week?,pilot"]),
           capture)
    job = confirm(office, ImportJob.objects.first(), capture)

    assert (job.filename, job.status, job.phase) == ("second.csv", "done", "")
    assert UseCase.objects.get().decision.statement == "Which are paid this week?"


def test_a_nul_byte_after_8_kb_is_a_row_error_on_the_page(office, django_capture_on_commit_callbacks):
    lines = [HEADER, *good_lines(120)]
    lines[101] = "UC-101,Use case\x00 101,Finance,Which invoices are paid early?,proposed"

    upload(office, "inventory.csv", csv_bytes(lines), django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert job.status == "invalid"
    assert job.errors == ["row 101, column title: contains a NUL character (byte 0); remove it and save the file "
                          "again as CSV (UTF-8) or XLSX"]
    page = office.get(reverse("web:import_job", args=[job.pk])).content.decode()
    assert "row 101, column title: contains a NUL character" in page


def test_a_zip_bomb_is_refused_by_the_check_and_nothing_is_kept(office, django_capture_on_commit_callbacks, tmp_path):
    content = xlsx_bomb(tmp_path / "bomb.xlsx", 300_000).read_bytes()

    upload(office, "bomb.xlsx", content, django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert job.status == "invalid" and len(job.errors) == 1
    assert job.errors[0].startswith("bomb.xlsx: the workbook would expand")
    assert "refused as a likely zip bomb" in job.errors[0]
    assert bytes(job.content) == b"" and job.phase == ""
    assert not UseCase.objects.exists()


def test_the_job_stores_only_the_first_thousand_problems(office, django_capture_on_commit_callbacks):
    lines = [HEADER, *(f"UC-{i},,Finance,Which?,flying" for i in range(1, 1201))]

    upload(office, "inventory.csv", csv_bytes(lines), django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert job.status == "invalid" and len(job.errors) == 1001
    assert job.errors[-1] == "… and 1,400 more problems (only the first 1,000 are listed)"
    page = office.get(reverse("web:import_job", args=[job.pk])).content.decode()
    assert "and 1,400 more problems" in page


@override_settings(IMPORT_MAX_UPLOAD_BYTES=10_000)
def test_an_upload_past_the_size_limit_is_refused_with_a_message(office, django_capture_on_commit_callbacks):
    response = upload(office, "inventory.csv", csv_bytes([HEADER, *good_lines(200)]), django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert response["Location"] == reverse("web:import_job", args=[job.pk])
    assert job.status == "invalid" and bytes(job.content) == b""
    assert job.errors == ["inventory.csv is 31,631 bytes; uploads of at most 10,000 bytes are imported (split the file)"]


@override_settings(IMPORT_MAX_ROWS=50)
def test_a_file_past_the_row_limit_is_refused_by_the_check(office, django_capture_on_commit_callbacks):
    upload(office, "inventory.csv", csv_bytes([HEADER, *good_lines(51)]), django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert job.status == "invalid"
    assert job.errors[0].startswith("inventory.csv: the file has more than 50 rows")


def _checked_job(office, capture, lines):
    upload(office, "inventory.csv", csv_bytes(lines), capture)
    job = ImportJob.objects.get()
    assert job.status == "checked"
    return job


def test_a_database_error_while_importing_fails_the_job_naming_the_row(
    office, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from registry.inventory import contract

    capture = django_capture_on_commit_callbacks
    confirm(office, _checked_job(office, capture, [HEADER, "FIN-7,Invoice capture,Finance,Which are paid?,pilot"]), capture)
    upload(office, "again.csv", csv_bytes([HEADER, "NEW-1,New,Legal,Which contracts?,proposed",
                                           "FIN-7,Invoice capture,Finance,Which are paid this week?,pilot"]), capture)
    job = ImportJob.objects.first()  # the newest
    assert (job.filename, job.status) == ("again.csv", "checked")
    monkeypatch.setattr(contract, "existing_use_cases", lambda ids: {})  # a concurrent writer got there first

    with caplog.at_level(logging.ERROR, logger="web.imports"):
        job = confirm(office, job, capture)

    assert (job.status, job.phase) == ("failed", "") and job.finished_at is not None
    assert len(job.errors) == 1 and "could not be written to the registry (IntegrityError" in job.errors[0]
    assert "nothing was imported" in job.errors[0]
    if connection.vendor == "postgresql":
        assert job.errors[0].startswith("row 2: ")
    assert caplog.records and caplog.records[0].exc_info  # the traceback is logged for the administrators
    assert set(UseCase.objects.values_list("external_id", flat=True)) == {"FIN-7"}
    assert not BusinessUnit.objects.filter(name="Legal").exists() and Decision.objects.count() == 1


def test_an_unexpected_error_while_importing_fails_the_job_with_a_short_message(
    office, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from registry.inventory import contract

    job = _checked_job(office, django_capture_on_commit_callbacks, [HEADER, *good_lines(3)])

    def broken(**kwargs):
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(contract, "write_use_cases", broken)
    with caplog.at_level(logging.ERROR, logger="web.imports"):
        job = confirm(office, job, django_capture_on_commit_callbacks)

    assert (job.status, job.phase) == ("failed", "") and job.finished_at is not None
    assert job.errors == [f"The import stopped on an unexpected error (RuntimeError); nothing was imported. "
                          f"It was logged as import job {job.pk} for the administrators."]
    assert "RuntimeError: the disk caught fire" in caplog.text and "Traceback" in caplog.text
    assert not UseCase.objects.exists() and not BusinessUnit.objects.exists()
    page = office.get(reverse("web:import_job", args=[job.pk])).content.decode()
    assert "unexpected error" in page and "Traceback" not in page


def test_an_unexpected_error_while_checking_ends_the_check(office, program_office_user, monkeypatch, caplog):
    from web import imports

    job = store_upload(filename="inventory.csv", content=csv_bytes([HEADER, *good_lines(3)]), actor=program_office_user)

    def broken(*args, **kwargs):
        raise KeyError("sheet")

    monkeypatch.setattr(imports, "import_use_cases", broken)
    with caplog.at_level(logging.ERROR, logger="web.imports"):
        job = check_upload(job)

    assert (job.status, job.phase) == ("invalid", "")
    assert job.errors == [f"The check stopped on an unexpected error (KeyError); nothing was imported. "
                          f"It was logged as import job {job.pk} for the administrators."]
    assert caplog.records[0].exc_info


def test_a_job_left_running_by_a_dead_worker_is_run_again_and_finishes(program_office_user, monkeypatch):
    from registry.inventory import contract

    job = ImportJob.objects.create(filename="inventory.csv", content=csv_bytes([HEADER, *good_lines(2)]),
                                   uploaded_by=program_office_user, status=ImportJob.Status.RUNNING)
    monkeypatch.setattr(contract, "write_use_cases", lambda **kwargs: 1 / 0)

    job = run_import(job)

    assert job.status == "failed" and "ZeroDivisionError" in job.errors[0]
    assert run_import(job).status == "failed"  # a finished job is left alone


def test_the_job_summary_lists_at_most_twenty_unknown_columns(office, django_capture_on_commit_callbacks):
    extra = [f"extra_{i}" for i in range(30)]
    lines = [HEADER + "," + ",".join(extra), *(line + "," * 30 for line in good_lines(2))]

    upload(office, "inventory.csv", csv_bytes(lines), django_capture_on_commit_callbacks)

    summary = ImportJob.objects.get().summary
    assert "Ignored unknown columns: extra_0, extra_1," in summary and "extra_19 and 10 more." in summary
    assert FILLER not in summary
