"""registry.inventory and web.imports authorize: only the program office (or a system actor)
imports and keeps the directory; anyone else is refused and nothing is written."""

import pytest

from core.actors import IMPORT
from core.errors import InvalidInput, NotAllowed
from registry.inventory.common import ImportFailed, RowError
from registry.inventory.directory import import_people, upsert_people
from registry.inventory.formats import EXPORT_FORMATS, IMPORT_FORMATS, import_use_cases
from registry.models import BusinessUnit, Decision, Person, UseCase
from tests.factories import BusinessUnitFactory, PersonFactory
from web.imports import check_upload, queue_checked_import, store_upload
from web.models import ImportJob

pytestmark = pytest.mark.django_db

PEOPLE = "email,name,business_unit,active\nann@example.com,Ann,Legal,true\n"
USE_CASES = "external_id,title,business_unit,decision\nFIN-1,Invoice capture,Finance,Which invoices are paid?\n"
FEDERAL = ("agency,agency_name,id,use_case_name,development_stage,contact_email\n"
           "DOE,Department of Energy,DOE-1,Copilot,Pilot,jane.doe@doe.gov\n")


@pytest.fixture(params=["auditor_user", "business_owner_user"])
def not_the_program_office(request):
    return request.getfixturevalue(request.param)


def nothing_written():
    return not (Person.objects.exists() or BusinessUnit.objects.exists() or Decision.objects.exists()
                or UseCase.objects.exists())


def test_importing_people_is_refused_and_writes_nothing(not_the_program_office, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)

    with pytest.raises(NotAllowed):
        import_people(path, actor=not_the_program_office)

    assert nothing_written()


@pytest.mark.parametrize("format, content", [("contract", USE_CASES), ("omb-2025", FEDERAL), ("omb-2024", FEDERAL)])
def test_importing_use_cases_is_refused_in_every_format_and_writes_nothing(not_the_program_office, tmp_path, format,
                                                                           content):
    path = tmp_path / "inventory.csv"
    path.write_text(content)

    with pytest.raises(NotAllowed):
        import_use_cases(path, actor=not_the_program_office, format=format)
    with pytest.raises(NotAllowed):
        import_use_cases(path, actor=not_the_program_office, format=format, dry_run=True)

    assert nothing_written()


def test_the_program_office_and_the_import_actor_import(program_office_user, tmp_path):
    people, use_cases = tmp_path / "people.csv", tmp_path / "inventory.csv"
    people.write_text(PEOPLE)
    use_cases.write_text(USE_CASES)

    assert import_people(people, actor=program_office_user).created == 1
    assert import_use_cases(use_cases, actor=IMPORT).created == 1
    assert Person.objects.get().history.get().history_user == program_office_user


def test_the_directory_sync_is_refused_and_writes_nothing(not_the_program_office):
    with pytest.raises(NotAllowed):
        upsert_people([{"email": "ann@example.com", "business_unit": "Legal"}], actor=not_the_program_office)

    assert nothing_written()


def test_the_directory_sync_leaves_what_a_row_does_not_say(program_office_user):
    legal = BusinessUnitFactory(name="Legal")
    PersonFactory(email="ann@example.com", name="Ann", business_unit=legal, active=True)

    counts = upsert_people([
        {"email": "ANN@example.com", "business_unit": "", "active": False},
        {"email": "bob@example.com", "business_unit": "  New   unit "},
        {"email": "cy@example.com", "name": "Cy", "business_unit": "legal"},
    ], actor=program_office_user)

    assert counts == {"created": 2, "updated": 1, "unchanged": 0}
    ann = Person.objects.get(email="ann@example.com")
    assert (ann.name, ann.business_unit, ann.active) == ("Ann", legal, False)
    bob = Person.objects.get(email="bob@example.com")
    assert (bob.name, bob.business_unit.name, bob.active) == ("", "New unit", True)
    assert Person.objects.get(email="cy@example.com").business_unit == legal
    assert ann.history.first().history_user == program_office_user
    assert BusinessUnit.objects.get(name="New unit").history.get().history_user == program_office_user


def test_the_directory_sync_refuses_a_person_twice_and_writes_nothing(program_office_user):
    with pytest.raises(InvalidInput, match="ann@example.com"):
        upsert_people([{"email": "ann@example.com", "business_unit": "Legal"}, {"email": "Ann@example.com"}],
                      actor=program_office_user)

    assert nothing_written()


def test_an_import_failure_is_invalid_input_and_reads_as_before():
    failed = ImportFailed([RowError(2, "title", "is required"), RowError(1, "", "has 3 cells")])

    assert isinstance(failed, InvalidInput)
    assert [str(e) for e in failed.errors] == ["row 1: has 3 cells", "row 2, column title: is required"]
    assert str(failed) == failed.message == "row 1: has 3 cells\nrow 2, column title: is required"


def test_the_formats_table_names_every_format_once():
    assert IMPORT_FORMATS == ("contract", "omb-2025", "omb-2024")
    assert EXPORT_FORMATS == ("contract", "omb-2025")


# The import page's services ---------------------------------------------------------------------


def test_storing_an_upload_is_refused_and_keeps_nothing(not_the_program_office):
    with pytest.raises(NotAllowed):
        store_upload(filename="inventory.csv", content=USE_CASES.encode(), actor=not_the_program_office)

    assert not ImportJob.objects.exists()


def test_queueing_a_checked_import_happens_once_and_only_for_the_program_office(program_office_user,
                                                                                 not_the_program_office):
    job = store_upload(filename="inventory.csv", content=USE_CASES.encode(), actor=program_office_user)
    assert queue_checked_import(job_pk=job.pk, actor=program_office_user) is False  # not checked yet
    assert check_upload(job).status == ImportJob.Status.CHECKED

    with pytest.raises(NotAllowed):
        queue_checked_import(job_pk=job.pk, actor=not_the_program_office)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED

    assert queue_checked_import(job_pk=job.pk, actor=program_office_user) is True
    job.refresh_from_db()
    assert (job.status, job.phase) == (ImportJob.Status.QUEUED, "waiting for a worker")
    assert queue_checked_import(job_pk=job.pk, actor=program_office_user) is False


def test_a_check_for_an_uploader_who_may_no_longer_import_says_so(program_office_user):
    job = store_upload(filename="inventory.csv", content=USE_CASES.encode(), actor=program_office_user)
    program_office_user.groups.clear()

    job = check_upload(ImportJob.objects.get(pk=job.pk))

    assert job.status == ImportJob.Status.INVALID
    assert job.errors == ["Imports are the program office's."]
    assert nothing_written()
