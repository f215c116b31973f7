"""Investment on the use case page: the owner records it in place, the page shows it per layer
in the registry's currency, bad input names the field; the upload page imports a file of it."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry.models import Investment
from web.models import ImportJob
from tests.factories import UseCaseFactory
from tests.web_setup import htmx, own_use_case, owner_person  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

GOOD = {"layer": "model", "period_start": "2026-01-01", "period_end": "2026-03-31", "planned": "120000",
        "spent": "98500.40"}


def test_an_owner_records_investment_and_the_page_shows_it_per_layer_in_the_currency(
        client, business_owner_user, own_use_case, settings):
    settings.LAST_MILE_CURRENCY = "CHF"
    client.force_login(business_owner_user)
    page = reverse("web:use_case", args=[own_use_case.pk])
    assert "No investment recorded yet." in client.get(page).content.decode()

    answer = client.post(reverse("web:investment_new", args=[own_use_case.pk]), {**GOOD, "next": page}, follow=True)

    body = answer.content.decode()
    assert "Recorded model investment for 2026-01-01 to 2026-03-31." in body
    assert "120,000 CHF" in body and "98,500 CHF" in body
    assert Investment.objects.get().recorded_by == business_owner_user


def test_bad_input_is_named_and_nothing_is_written(client, business_owner_user, own_use_case):
    client.force_login(business_owner_user)
    answer = client.post(reverse("web:investment_new", args=[own_use_case.pk]),
                         {**GOOD, "period_end": "2025-12-01", "planned": "-3"}, follow=True)
    body = answer.content.decode()
    assert "planned:" in body
    assert not Investment.objects.exists()
    answer = client.post(reverse("web:investment_new", args=[own_use_case.pk]), {**GOOD, "period_end": "2025-12-01"},
                         follow=True)
    assert "period_end: The period ends (2025-12-01) before it starts (2026-01-01)." in answer.content.decode()
    assert not Investment.objects.exists()


def test_an_owner_cannot_record_on_someone_elses_use_case(client, business_owner_user, owner_person):
    client.force_login(business_owner_user)
    others = UseCaseFactory()
    assert client.post(reverse("web:investment_new", args=[others.pk]), GOOD).status_code == 403
    assert client.post(reverse("web:investment_new", args=[others.pk]), GOOD, **htmx()).status_code == 403
    assert 'id="investment-layer"' not in client.get(reverse("web:use_case", args=[others.pk])).content.decode()
    assert not Investment.objects.exists()


def test_the_upload_page_imports_a_file_of_investment(client, program_office_user, own_use_case,
                                                      django_capture_on_commit_callbacks):
    client.force_login(program_office_user)
    lines = ["use_case,layer,period_start,period_end,planned,spent",
             f"{own_use_case.external_id},data,2026-01-01,2026-03-31,5000,4000"]
    upload = SimpleUploadedFile("spend.csv", ("\n".join(lines) + "\n").encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web:import"), {"kind": "investments", "file": upload})
    job = ImportJob.objects.get()
    assert job.kind == "investments" and job.status == "checked"
    assert "1 investments would be created" in client.get(response["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("web:import_job", args=[job.pk]))
    assert Investment.objects.get().spent == Decimal("4000.00")


def test_an_upload_of_bad_investment_rows_lists_them(client, program_office_user, own_use_case,
                                                     django_capture_on_commit_callbacks):
    client.force_login(program_office_user)
    lines = ["use_case,layer,period_start,period_end,planned,spent", "GHOST-1,data,2026-01-01,2026-03-31,5,4"]
    upload = SimpleUploadedFile("spend.csv", ("\n".join(lines) + "\n").encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("web:import"), {"kind": "investments", "file": upload})
    job = ImportJob.objects.get()
    assert job.status == "invalid"
    assert job.errors == ["row 1, column use_case: no use case with external id 'GHOST-1' (import the use cases first)"]
    assert not Investment.objects.exists()


def test_an_owner_deletes_a_wrong_record_and_where_value_leaks_drops_it_at_once(
        client, business_owner_user, program_office_user, own_use_case):
    # given: two records on the owner's use case, one of them entered in error
    client.force_login(business_owner_user)
    page = reverse("web:use_case", args=[own_use_case.pk])
    client.post(reverse("web:investment_new", args=[own_use_case.pk]), GOOD)
    client.post(reverse("web:investment_new", args=[own_use_case.pk]), {**GOOD, "layer": "data", "spent": "700"})
    wrong = Investment.objects.get(layer="model")
    assert f'action="/use-cases/{own_use_case.pk}/investments/{wrong.pk}/delete/"' in client.get(page).content.decode()

    # when
    answer = client.post(reverse("web:investment_delete", args=[own_use_case.pk, wrong.pk]), {"next": page},
                         follow=True)

    # then: the page says so, the record is gone, the history keeps who deleted what
    assert ("Deleted the model investment for 2026-01-01 to 2026-03-31 (planned 120000.00, spent 98500.40); "
            "the history keeps it.") in answer.content.decode()
    assert list(Investment.objects.values_list("layer", flat=True)) == ["data"]
    deleted = Investment.history.get(id=wrong.pk, history_type="-")
    assert (deleted.history_user, deleted.spent) == (business_owner_user, Decimal("98500.40"))
    client.force_login(program_office_user)
    figures = client.get(reverse("web:value_export")).content.decode()
    assert "investment,all units,model,spent,0.00" in figures and "investment,all units,data,spent,700.00" in figures


def test_nobody_but_its_owners_and_the_office_deletes_a_record(client, business_owner_user, auditor_user, owner_person):
    others = UseCaseFactory()
    record = Investment.objects.create(use_case=others, layer="data", period_start="2026-01-01",
                                       period_end="2026-03-31", spent=Decimal("10"))
    url = reverse("web:investment_delete", args=[others.pk, record.pk])
    for user in (business_owner_user, auditor_user):
        client.force_login(user)
        assert client.post(url).status_code == 403
        assert client.post(url, **htmx()).status_code == 403
        assert "/delete/" not in client.get(reverse("web:use_case", args=[others.pk])).content.decode()
    assert Investment.objects.filter(pk=record.pk).exists()


def test_deleting_a_record_of_another_use_case_or_none_is_a_404(client, program_office_user, own_use_case):
    client.force_login(program_office_user)
    elsewhere = Investment.objects.create(use_case=UseCaseFactory(), layer="data", period_start="2026-01-01",
                                          period_end="2026-03-31", spent=Decimal("10"))
    assert client.post(reverse("web:investment_delete", args=[own_use_case.pk, elsewhere.pk])).status_code == 404
    assert client.post(reverse("web:investment_delete", args=[own_use_case.pk, 999999])).status_code == 404
    assert client.get(reverse("web:investment_delete", args=[elsewhere.use_case.pk, elsewhere.pk])).status_code == 405
    assert Investment.objects.filter(pk=elsewhere.pk).exists()
