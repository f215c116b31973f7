"""Import through the pages: upload, dry-run report with every row error, import with progress."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from openpyxl import Workbook

from config.celery import app as celery_app
from registry.models import UseCase
from web.models import ImportJob

pytestmark = pytest.mark.django_db

HEADER = "external_id,title,business_unit,decision,stage"
GOOD = [HEADER, "FIN-1,Invoice capture,Finance,Which invoices are paid today?,proposed",
        "FIN-2,Cash forecast,Finance,How much cash do we hold next week?,pilot"]
BAD = [HEADER, "FIN-1,,Finance,Which invoices are paid today?,proposed",
       "FIN-1,Again,Finance,Which invoices are paid today?,flying"]


def csv_upload(lines, name="inventory.csv"):
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(), content_type="text/csv")


@pytest.fixture
def office(client, program_office_user, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    client.force_login(program_office_user)
    return client


def upload(client, file, capture):
    with capture(execute=True):
        return client.post(reverse("web:import"), {"file": file} if file else {})


def test_a_clean_file_is_dry_run_then_imported_with_progress(office, django_capture_on_commit_callbacks):
    response = upload(office, csv_upload(GOOD), django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("web:import_job", args=[job.pk])
    page = office.get(response["Location"]).content.decode()
    assert "Dry run passed" in page and "2 use cases would be created" in page
    assert not UseCase.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        office.post(reverse("web:import_job", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.percent) == ("done", 2, 100)
    assert set(UseCase.objects.values_list("external_id", flat=True)) == {"FIN-1", "FIN-2"}
    progress = office.get(reverse("web:import_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in progress and "Imported." in progress and "2 use cases were created" in progress

    # a second confirmation imports nothing twice
    with django_capture_on_commit_callbacks(execute=True):
        again = office.post(reverse("web:import_job", args=[job.pk]), follow=True)
    assert "cannot be imported" in again.content.decode()
    assert UseCase.objects.count() == 2


def test_an_upload_is_checked_in_the_background_and_the_page_reloads_when_done(office, django_capture_on_commit_callbacks):
    office.post(reverse("web:import"), {"file": csv_upload(GOOD)})  # the check is queued, not run
    job = ImportJob.objects.get()
    assert job.status == "uploaded"
    fragment = office.get(reverse("web:import_job", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in fragment.content.decode() and "Checking (dry run)" in fragment.content.decode()
    from web.imports import check_upload

    check_upload(job)
    done = office.get(reverse("web:import_job", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assert ImportJob.objects.get().rows == 2


def test_a_running_import_polls_its_progress(office):
    job = ImportJob.objects.create(filename="x.csv", content=b"", status=ImportJob.Status.RUNNING, rows=1000,
                                   rows_done=250, phase="checking rows")
    fragment = office.get(reverse("web:import_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "250 of 1000 rows" in fragment and 'value="25"' in fragment


def test_every_row_error_is_listed_and_nothing_can_be_imported(office, django_capture_on_commit_callbacks):
    upload(office, csv_upload(BAD), django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    page = office.get(reverse("web:import_job", args=[job.pk])).content.decode()
    assert job.status == "invalid"
    assert "row 1, column title: " in page
    assert "row 2, column external_id: " in page and "row 2, column stage: " in page
    assert "Import 2 rows" not in page
    office.post(reverse("web:import_job", args=[job.pk]))
    assert not UseCase.objects.exists()


def test_xlsx_is_accepted(office, django_capture_on_commit_callbacks):
    workbook = Workbook()
    for line in GOOD:
        workbook.active.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload(office, SimpleUploadedFile("inventory.xlsx", buffer.getvalue()), django_capture_on_commit_callbacks)
    assert ImportJob.objects.get().status == "checked"


@pytest.mark.parametrize("upload, message", [
    (SimpleUploadedFile("inventory.pdf", b"%PDF"), "Upload a .csv or .xlsx file"),
    (None, "This field is required"),
    (SimpleUploadedFile("empty.csv", b""), "The submitted file is empty"),
])
def test_upload_garbage_is_refused_by_the_form(office, upload, message):
    response = office.post(reverse("web:import"), {"file": upload} if upload else {})
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("content, name, message", [
    (b"title,business_unit\nX,Finance\n", "missing.csv", "missing required columns: external_id, decision"),
    (b"\xff\xfe\x00garbage\x00\x00", "binary.csv", "binary.csv: this is not a CSV file"),
    (b"not a zip at all", "broken.xlsx", "broken.xlsx"),
])
def test_unreadable_files_are_reported_not_crashed_on(office, content, name, message, django_capture_on_commit_callbacks):
    upload(office, SimpleUploadedFile(name, content), django_capture_on_commit_callbacks)
    response = office.get(reverse("web:import_job", args=[ImportJob.objects.get().pk]))
    assert response.status_code == 200
    job = ImportJob.objects.get()
    assert job.status == "invalid" and job.errors
    assert message in " ".join(job.errors) and message in response.content.decode()
    assert "/tmp" not in response.content.decode()


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_with_the_broker_down_the_upload_is_checked_and_imported_in_the_request(
    client, program_office_user, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError as KombuOperationalError

    from web import tasks

    def broker_down(*args, **kwargs):
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for task in (tasks.check_uploaded_use_cases, tasks.import_uploaded_use_cases):
        monkeypatch.setattr(task, "apply_async", broker_down)
    client.force_login(program_office_user)

    response = upload(client, csv_upload(GOOD), django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.status == "checked"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("web:import_job", args=[job.pk]))

    job.refresh_from_db()
    assert job.status == "done"
    assert UseCase.objects.count() == 2
