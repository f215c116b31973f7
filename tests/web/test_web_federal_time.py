"""The pages of an imported federal use case show time as the data can show it."""

import datetime

import pytest
from django.urls import reverse

from core.actors import IMPORT
from registry.inventory.formats import import_use_cases
from registry.models import UseCase
from tests.registry.test_federal_format import row, write_2024, write_2025

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(client, program_office_user):
    client.force_login(program_office_user)
    return client


def test_a_stage_not_reported_shows_so_and_offers_every_real_stage(office, tmp_path):
    import_use_cases(write_2025(tmp_path, [row(id="DOE-1", development_stage="")]), actor=IMPORT, format="omb-2025",
                     as_of=datetime.date(2026, 4, 1))
    use_case = UseCase.objects.get()

    page = office.get(reverse("web:use_case", args=[use_case.pk])).content.decode()

    assert "Stage not reported" in page and "in stage since a day nobody reported" in page
    assert "reported by 2026-04-01, entered on a day nobody reported" in page
    offered = page.split('name="to_stage"')[1].split("</select>")[0]
    assert [v for v in ("proposed", "validating", "pilot", "production", "retired") if f'value="{v}"' in offered] == [
        "proposed", "validating", "pilot", "production", "retired"]


def test_a_2025_row_shows_its_2024_report_as_its_past(office, tmp_path):
    import_use_cases(write_2025(tmp_path, [row(id="DHS-314", agency="DHS", agency_name="Department of Homeland Security",
                                               use_case_name="ARMOR", development_stage="Pre-deployment")]),
                     actor=IMPORT, format="omb-2025")
    import_use_cases(write_2024(tmp_path, [["ARMOR", "Department of Homeland Security", "DHS", "CBP", "", "", "",
                                            "Acquisition and/or Development", "10/1/2021", "10/1/2021", "", "", "", ""]]),
                     actor=IMPORT, format="omb-2024")
    armor = UseCase.objects.get(external_id="DHS-314")

    page = office.get(reverse("web:use_case", args=[armor.pk])).content.decode()

    assert "in stage, since 2021-10-01" in page
    assert page.count("2021-10-01 ·") == 2  # proposed and validating, from the 2024 report
