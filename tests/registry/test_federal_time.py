"""Time as an imported US federal inventory can show it: its "as of" date, stages without a day,
a stage not reported, and a 2025 row linked to its 2024 row — on small files written here."""

import datetime
import io

import pytest
from django.utils import timezone
from django.core.management import CommandError, call_command

from core.actors import IMPORT
from core.errors import InvalidInput
from portfolio.detectors.base import stage_on
from registry.gates import MoveRefused
from registry.inventory.formats import export_use_cases, import_use_cases
from registry.models import Stage, StageTransition, UseCase
from registry.selectors.stages import Since, Step, stage_since, steps_of
from registry.services.lifecycle import move_use_case
from tests.factories import TEST_ACTOR
from tests.registry.test_federal_format import row, write_2024, write_2025

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 30)
D = datetime.date


def armor_2024(stage="Acquisition and/or Development", development="10/1/2021", name="ARMOR"):
    return [name, "Department of Homeland Security", "DHS", "CBP", "", "", "", stage, "10/1/2021", development,
            "", "", "", ""]


def dhs(**values):
    return row(agency="DHS", agency_name="Department of Homeland Security", **values)


def import_2025(path, **options):
    return import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY, **options)


def import_2024(path, **options):
    return import_use_cases(path, actor=IMPORT, format="omb-2024", today=TODAY, **options)


# The inventory's date ------------------------------------------------------------------------


def test_the_inventory_speaks_as_of_the_latest_date_it_reports_as_reached(tmp_path):
    path = write_2025(tmp_path, [
        row(id="DOE-1", development_stage="Pilot", operational_date="09/2025"),
        row(id="DOE-2", development_stage="Deployed", operational_date="2026-01-15"),
        row(id="DOE-3", development_stage="Pre-deployment", operational_date="2026-10-01"),  # a plan
        row(id="DOE-4", development_stage="Pilot", operational_date="12/2026"),  # after today: a plan
    ])

    report = import_2025(path)

    assert report.as_of == D(2026, 1, 15)
    assert "The inventory speaks as of 2026-01-15." in report.summary("use cases")
    assert set(UseCase.objects.values_list("source_as_of", flat=True)) == {D(2026, 1, 15)}


def test_an_inventory_with_no_reached_date_speaks_as_of_the_import_day(tmp_path):
    report = import_2025(write_2025(tmp_path, [row(id="DOE-1", development_stage="Pre-deployment")]))

    assert report.as_of == TODAY


def test_the_as_of_date_given_on_import_wins_and_a_date_after_it_is_a_plan(tmp_path):
    path = write_2025(tmp_path, [
        row(id="DOE-1", development_stage="Pilot", operational_date="09/2025"),
        row(id="DOE-2", development_stage="Pilot", operational_date="2026-01-15"),
    ])

    import_2025(path, as_of=D(2025, 12, 31))

    assert dict(UseCase.objects.values_list("external_id", "stage_entered_on")) == {
        "DOE-1": D(2025, 9, 1), "DOE-2": None}
    held = StageTransition.objects.get(use_case__external_id="DOE-2")
    assert (held.dated, held.occurred_at.date()) == (False, D(2025, 12, 31))


def test_the_command_takes_the_as_of_date(tmp_path):
    path = write_2025(tmp_path, [row(id="DOE-1", development_stage="Pilot", operational_date="09/2025")])
    out = io.StringIO()

    call_command("import_use_cases", str(path), "--format", "omb-2025", "--as-of", "2026-02-01", stdout=out)

    assert "speaks as of 2026-02-01" in out.getvalue()
    assert UseCase.objects.get().source_as_of == D(2026, 2, 1)


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "01/02/2026", ""])
def test_a_garbled_as_of_date_is_refused_naming_the_option_and_nothing_is_written(tmp_path, text):
    path = write_2025(tmp_path, [row(id="DOE-1")])
    err = io.StringIO()

    with pytest.raises(CommandError, match="--as-of") as refused:
        call_command("import_use_cases", str(path), "--format", "omb-2025", "--as-of", text, stderr=err)

    assert "YYYY-MM-DD" in str(refused.value)
    assert not UseCase.objects.exists()


def test_an_as_of_date_in_the_future_is_refused_naming_the_field_and_nothing_is_written(tmp_path):
    path = write_2025(tmp_path, [row(id="DOE-1")])

    with pytest.raises(InvalidInput) as refused:
        import_2025(path, as_of=TODAY + datetime.timedelta(days=1))

    assert list(refused.value.errors) == ["as_of"] and "after today" in refused.value.message
    assert not UseCase.objects.exists()
    with pytest.raises(CommandError, match="as_of: .* is after today"):
        call_command("import_use_cases", str(path), "--format", "omb-2025", "--as-of", "2999-01-01")


def test_the_contract_format_refuses_an_as_of_date_it_has_no_use_for(tmp_path):
    path = tmp_path / "contract.csv"
    path.write_text("external_id,title,business_unit,decision\nFIN-1,Triage,Finance,Which claims?\n")

    with pytest.raises(CommandError, match="as_of: the contract format dates each row itself"):
        call_command("import_use_cases", str(path), "--as-of", "2026-01-01")

    assert not UseCase.objects.exists()


# A stage not reported --------------------------------------------------------------------------


def test_a_blank_stage_is_not_reported_never_proposed_and_exports_back_blank(tmp_path):
    path = write_2025(tmp_path, [row(id="DOE-1", development_stage=""), row(id="DOE-2", development_stage="Pilot")])

    import_2025(path)

    blank = UseCase.objects.get(external_id="DOE-1")
    assert (blank.stage, blank.get_stage_display(), blank.stage_entered_on) == (Stage.UNREPORTED, "Stage not reported", None)
    exported = tmp_path / "out.csv"
    export_use_cases(exported, format="omb-2025")
    assert exported.read_bytes() == path.read_bytes()


def test_a_person_moves_a_stage_not_reported_to_the_stage_it_is_in_through_its_gate(tmp_path):
    import_2025(write_2025(tmp_path, [row(id="DOE-1", development_stage="")]))
    use_case = UseCase.objects.get()

    with pytest.raises(MoveRefused) as refused:
        move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR)
    assert "decision_stated" in [c.code for c in refused.value.unmet]

    moved = move_use_case(use_case=use_case, to_stage=Stage.PROPOSED, actor=TEST_ACTOR)
    assert (moved.stage, moved.stage_entered_on) == (Stage.PROPOSED, datetime.date.today())


# Since when, as far as the steps show --------------------------------------------------------


def test_the_stage_is_held_since_the_first_step_of_its_run_exactly_only_when_that_step_is_dated():
    dated = [Step(Stage.PROPOSED, D(2021, 1, 1), True), Step(Stage.VALIDATING, D(2021, 10, 1), True),
             Step(Stage.VALIDATING, D(2026, 4, 1), False)]
    assert stage_since(dated, Stage.VALIDATING) == Since(D(2021, 10, 1), exact=True)
    undated = [Step(Stage.VALIDATING, D(2025, 10, 14), False), Step(Stage.VALIDATING, D(2026, 4, 1), False)]
    assert stage_since(undated, Stage.VALIDATING) == Since(D(2025, 10, 14), exact=False)
    moved_back = [Step(Stage.PRODUCTION, D(2023, 1, 1), True), Step(Stage.VALIDATING, D(2026, 4, 1), False)]
    assert stage_since(moved_back, Stage.VALIDATING) == Since(D(2026, 4, 1), exact=False)


def test_days_in_stage_are_exact_at_least_or_unknown():
    assert Since(D(2026, 1, 1), exact=True).days_by(D(2026, 1, 1)) == 0
    assert Since(D(2026, 1, 1), exact=False).days_by(D(2026, 1, 1)) is None  # the judged day shows no duration
    assert Since(D(2026, 1, 1), exact=False).days_by(D(2026, 1, 2)) == 1
    assert Since(None).days_by(D(2026, 1, 2)) is None
    assert Since(D(2026, 1, 3), exact=True).days_by(D(2026, 1, 2)) is None


# A 2025 row linked to its 2024 row -----------------------------------------------------------------


@pytest.mark.parametrize("order", ["2025 first", "2024 first"])
def test_a_2025_row_links_to_its_2024_row_in_either_order_and_its_history_reaches_back(tmp_path, order):
    path_2025 = write_2025(tmp_path, [
        dhs(id="DHS-314", use_case_name="  ARMOR ", development_stage="Pre-deployment"),
        dhs(id="DHS-9", use_case_name="Only in 2025", development_stage="Pilot", operational_date="01/2026"),
    ])
    path_2024 = write_2024(tmp_path, [armor_2024(name="armor")])

    imports = [lambda: import_2025(path_2025), lambda: import_2024(path_2024)]
    reports = [run() for run in (imports if order == "2025 first" else imports[::-1])]

    assert reports[-1].linked == 1
    armor = UseCase.objects.get(external_id="DHS-314")
    earlier = UseCase.objects.get(source_format="omb-2024")
    assert armor.earlier_report == earlier
    assert armor.stage_entered_on == D(2021, 10, 1)  # in development since 2021, as the 2024 row shows
    assert steps_of(StageTransition.objects.filter(use_case__in=[armor, earlier])) == [
        Step(Stage.PROPOSED, D(2021, 10, 1), True), Step(Stage.VALIDATING, D(2021, 10, 1), True),
        Step(Stage.VALIDATING, D(2026, 1, 1), False)]
    # the scans judge the later report only (as of the day the rows were registered: the real today)
    judged = dict(UseCase.objects.annotate(then=stage_on(timezone.localdate())).values_list("external_id", "then"))
    assert judged[earlier.external_id] is None and judged["DHS-314"] == Stage.VALIDATING


def test_a_name_given_twice_in_either_year_links_neither(tmp_path):
    import_2025(write_2025(tmp_path, [dhs(id="DHS-1", use_case_name="ARMOR"), dhs(id="DHS-2", use_case_name="Armor")]))
    report = import_2024(write_2024(tmp_path, [armor_2024()]))

    assert not report.linked
    assert not UseCase.objects.filter(earlier_report__isnull=False).exists()


def test_a_reimport_of_linked_files_changes_nothing(tmp_path):
    path_2025 = write_2025(tmp_path, [dhs(id="DHS-314", use_case_name="ARMOR", development_stage="Pre-deployment")])
    path_2024 = write_2024(tmp_path, [armor_2024()])
    import_2025(path_2025)
    import_2024(path_2024)
    versions = dict(UseCase.objects.values_list("pk", "version"))

    again = [import_2025(path_2025), import_2024(path_2024)]

    assert [r.updated for r in again] == [0, 0]
    assert dict(UseCase.objects.values_list("pk", "version")) == versions


def test_a_renamed_row_is_unlinked_and_its_own_history_speaks_again(tmp_path):
    import_2024(write_2024(tmp_path, [armor_2024()]))
    import_2025(write_2025(tmp_path, [dhs(id="DHS-314", use_case_name="ARMOR", development_stage="Pre-deployment")]))

    import_2025(write_2025(tmp_path, [dhs(id="DHS-314", use_case_name="ARMOR 2", development_stage="Pre-deployment")]))

    armor = UseCase.objects.get(external_id="DHS-314")
    assert (armor.earlier_report, armor.stage_entered_on) == (None, None)


def test_an_as_of_date_that_is_not_a_date_is_refused_naming_the_field(tmp_path):
    with pytest.raises(InvalidInput) as refused:
        import_2025(write_2025(tmp_path, [row(id="DOE-1")]), as_of="2026-01-01")

    assert list(refused.value.errors) == ["as_of"]
    assert not UseCase.objects.exists()
