"""The import's dry run says which rows change which fields; templates and the list's export
give files the import reads."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from config.celery import app as celery_app
from registry.inventory.contract import USE_CASE_COLUMNS
from registry.models import UseCase
from tests.factories import DecisionFactory, PersonFactory, UseCaseFactory
from web.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(client, program_office_user, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    client.force_login(program_office_user)
    return client


def check(client, content: bytes, capture, name="inventory.csv"):
    with capture(execute=True):
        response = client.post(reverse("web:import"), {"file": SimpleUploadedFile(name, content, "text/csv")})
    return ImportJob.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def test_the_dry_run_lists_each_changed_row_and_field_old_and_new(office, django_capture_on_commit_callbacks):
    decision = DecisionFactory(business_unit__name="Finance", statement="Which invoices are paid today?")
    old_owner, new_owner = PersonFactory(email="old@example.com"), PersonFactory(email="new@example.com")
    UseCaseFactory(external_id="FIN-1", title="Invoice capture", decision=decision, business_owner=old_owner)
    UseCaseFactory(external_id="FIN-2", title="Cash forecast", decision=decision)
    lines = ["external_id,title,business_unit,decision,business_owner,stage",
             "FIN-1,Invoice capture v2,Finance,Which invoices are paid today?,new@example.com,proposed",
             "FIN-2,Cash forecast,Finance,Which invoices are paid today?,,proposed",
             "FIN-3,New one,Finance,Which invoices are paid today?,,proposed"]
    job = check(office, ("\n".join(lines) + "\n").encode(), django_capture_on_commit_callbacks)
    assert job.status == "checked"
    assert job.changes == [{"row": 1, "key": "FIN-1", "fields": [
        ["title", "Invoice capture", "Invoice capture v2"], ["business_owner", "old@example.com", "new@example.com"]]},
        {"row": 2, "key": "FIN-2", "fields": [["business_owner", UseCase.objects.get(external_id="FIN-2")
                                               .business_owner.email, ""]]}]
    page = office.get(reverse("web:import_job", args=[job.pk])).content.decode()
    assert "What the import would change" in page
    assert "Invoice capture v2" in page and "old@example.com" in page and "(blank)" in page
    assert new_owner.email in page


def test_the_templates_hold_the_contract_columns(office, client, business_owner_user):
    response = office.get(reverse("web:import_template_use_cases"))
    assert response.content.decode().strip() == ",".join(USE_CASE_COLUMNS)
    assert office.get(reverse("web:import_template_investments")).content.decode().startswith("use_case,layer,")
    client.force_login(business_owner_user)
    assert client.get(reverse("web:import_template_use_cases")).status_code == 403


def test_the_list_export_imports_back_unchanged(office, django_capture_on_commit_callbacks):
    for _ in range(3):
        UseCaseFactory()
    UseCaseFactory(external_id=None, title="No key")
    export = b"".join(office.get(reverse("web:use_case_export_csv")).streaming_content)
    job = check(office, export, django_capture_on_commit_callbacks, name="export.csv")
    assert job.status == "checked", job.errors
    assert "0 use cases would be created, 0 updated, 4 unchanged" in job.summary
    assert job.changes == []
