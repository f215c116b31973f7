"""Stalled pilots of an imported inventory, judged as the data can show it: on the inventory's
date until the product sees newer activity, from the day the source gives (or the earlier
report's), never from the import day; a stage without a date is not aged."""

import datetime

import pytest
from django.utils import timezone

from core.actors import IMPORT
from portfolio.detectors import inventory_completeness, stalled_pilots
from portfolio.models import Policy
from registry.inventory.formats import import_use_cases
from registry.models import UseCase
from registry.services.use_cases import edit_use_case
from tests.factories import UserFactory
from tests.registry.test_federal_format import row, write_2024, write_2025

pytestmark = pytest.mark.django_db

D = datetime.date
DAY = datetime.timedelta(days=1)
# The inventory speaks as of this day (given on import); the scans run long after it.
INVENTORY = D(2026, 4, 1)
TODAY = timezone.localdate()
LATER = TODAY + 62 * DAY  # the same data, scanned two months later


def stalled(as_of=TODAY):
    return {d.title.split("'")[1]: d for d in stalled_pilots.detect(as_of=as_of, policy=Policy())}


def import_2025(tmp_path, *rows, as_of=INVENTORY):
    import_use_cases(write_2025(tmp_path, list(rows)), actor=IMPORT, format="omb-2025", as_of=as_of)


def pilot(name, since: D | None):
    return row(id=f"DOE-{name}", use_case_name=name, development_stage="Pilot",
               operational_date=since.isoformat() if since else "")


def test_a_pilot_is_judged_on_the_inventorys_date_exactly_at_its_limit_not_stalled_a_day_over_stalled(tmp_path):
    import_2025(tmp_path, pilot("At limit", INVENTORY - 90 * DAY), pilot("Over", INVENTORY - 91 * DAY))

    found = stalled()

    assert set(found) == {"Over"}
    over = found["Over"]
    assert over.detail["judged_on"] == over.detail["inventory_as_of"] == INVENTORY.isoformat()
    assert (over.detail["days_in_stage"], over.detail["days_over"]) == (91, 1)
    assert over.title == "'Over' has been in pilot for 91 days (limit 90) as of 2026-04-01, the inventory's date"
    assert over.severity == "low"


def test_the_same_inventory_scanned_two_months_later_gives_the_same_stalls(tmp_path):
    import_2025(tmp_path, pilot("Long", D(2025, 9, 1)), pilot("Short", INVENTORY - 30 * DAY),
                row(id="DOE-3", use_case_name="Planned", development_stage="Pre-deployment"))

    now, later = stalled(TODAY), stalled(LATER)

    assert set(now) == set(later) == {"Long"}
    assert now["Long"].detail == later["Long"].detail
    assert now["Long"].detail["days_in_stage"] == 212


def test_the_import_is_no_activity_so_the_inactivity_rule_waits_for_the_product(tmp_path):
    import_2025(tmp_path, pilot("Quiet", INVENTORY - 80 * DAY))

    # 80 days in pilot: under the stage limit; no activity the inventory could show is not inactivity
    assert stalled(LATER) == {}


def test_a_stage_without_a_date_is_not_aged_but_counted_as_a_gap(tmp_path):
    import_2025(tmp_path, pilot("Undated", None), row(id="DOE-2", use_case_name="Early", development_stage="Pre-deployment"))

    assert stalled(LATER) == {}
    [gap] = [d for d in inventory_completeness.detect(as_of=TODAY, policy=Policy()) if d.detail["fact"] == "stage_date"]
    assert gap.use_case_ids == [UseCase.objects.get(title="Undated").pk]
    assert gap.severity == "low"
    assert "gives no date it began" in gap.title


def test_a_persons_edit_after_the_inventorys_date_makes_the_product_the_judge(tmp_path):
    import_2025(tmp_path, pilot("Edited", INVENTORY - 80 * DAY))
    use_case = UseCase.objects.get()
    use_case.summary = "Now with a monitoring plan in the works"
    edit_use_case(use_case=use_case, actor=UserFactory(groups=["program_office"]))

    found = stalled(TODAY)

    # judged today: 80 days before the inventory plus the months since, over the 90-day limit
    assert found["Edited"].detail["judged_on"] == TODAY.isoformat()
    assert found["Edited"].detail["days_in_stage"] == (TODAY - (INVENTORY - 80 * DAY)).days
    # and the edit is activity: 61 days after it the inactivity rule speaks too
    reasons = stalled(TODAY + 61 * DAY)["Edited"].detail["reasons"]
    assert any(reason.startswith("no activity for 61 days") for reason in reasons)


def test_a_2025_row_still_in_development_since_its_2024_report_is_stalled(tmp_path):
    import_2025(tmp_path,
                row(id="DHS-314", agency="DHS", agency_name="Department of Homeland Security", use_case_name="ARMOR",
                    development_stage="Pre-deployment"))
    assert stalled() == {}

    import_use_cases(write_2024(tmp_path, [
        ["ARMOR", "Department of Homeland Security", "DHS", "CBP", "", "", "", "Acquisition and/or Development",
         "10/1/2021", "10/1/2021", "", "", "", ""],
    ]), actor=IMPORT, format="omb-2024", as_of=D(2024, 12, 1))

    [armor] = stalled().values()
    assert armor.use_case_ids == [UseCase.objects.get(external_id="DHS-314").pk]  # not the 2024 row too
    assert armor.detail["stage_entered_on"] == "2021-10-01" and armor.detail["stage_entered_on_exact"]
    assert armor.detail["days_in_stage"] == (INVENTORY - D(2021, 10, 1)).days
    assert armor.severity == "high"  # time alone never makes a stall critical


@pytest.mark.parametrize(("days_between", "is_stalled"), [(60, False), (61, True)])
def test_an_undated_development_in_both_years_counts_at_least_from_the_earlier_report(tmp_path, days_between, is_stalled):
    import_2025(tmp_path, row(id="DHS-1", agency="DHS", agency_name="Department of Homeland Security",
                              use_case_name="Triage", development_stage="Pre-deployment"))
    import_use_cases(write_2024(tmp_path, [
        ["Triage", "Department of Homeland Security", "DHS", "", "", "", "", "Acquisition and/or Development",
         "", "", "", "", "", ""],
    ]), actor=IMPORT, format="omb-2024", as_of=INVENTORY - days_between * DAY)

    found = stalled()

    assert bool(found) is is_stalled
    if is_stalled:
        assert found["Triage"].title.startswith("'Triage' has been in validating for at least 61 days")
        assert not found["Triage"].detail["stage_entered_on_exact"]
