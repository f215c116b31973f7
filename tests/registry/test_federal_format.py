"""import_use_cases / export_use_cases --format omb-2025 and omb-2024, on small files written here."""

import csv
import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from registry.inventory.federal.mapping import COLUMNS_2025, PLACEHOLDER_STATEMENT, parse_source_date
from core.actors import IMPORT
from registry.inventory.common import ImportFailed
from registry.inventory.formats import export_use_cases, import_use_cases
from registry.models import Decision, Person, Stage, StageTransition, UseCase
from registry.services.use_cases import state_decision
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


def row(**values) -> dict:
    base = {c: "" for c in COLUMNS_2025}
    base.update(agency="DOE", agency_name="Department of Energy", use_case_name="GitHub Copilot",
                development_stage="Pilot", contact_email="Jane.Doe@doe.gov")
    base.update(values)
    return base


def write_2025(tmp_path, rows, *, encoding="utf-8-sig", name="inventory.csv"):
    path = tmp_path / name
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS_2025, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def keys():
    return sorted(UseCase.objects.values_list("external_id", flat=True))


def test_keys_are_the_agency_id_else_a_digest_and_repeats_are_numbered(tmp_path):
    path = write_2025(tmp_path, [
        row(id="DOE-12"),
        row(id="12", agency="EPA", agency_name="Environmental Protection Agency"),
        row(id="12", agency="NSF", agency_name="National Science Foundation"),
        row(id="DOE-12", use_case_name="Another"),
        row(id="", agency="HHS", agency_name="Department of Health and Human Services", use_case_name="Chatbot"),
        row(id="TBD", agency="STB", agency_name="Surface Transportation Board", use_case_name="RelativityOne"),
    ])

    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    found = keys()
    assert {"DOE-12", "DOE-12~2", "EPA-12", "NSF-12"} <= set(found)
    hashed = [k for k in found if k.startswith(("HHS-h", "STB-h"))]
    assert len(hashed) == 2 and all(len(k.split("-h")[1]) == 10 for k in hashed)


def test_a_renamed_row_without_id_keeps_its_key_only_while_bureau_and_name_stay(tmp_path):
    first = write_2025(tmp_path, [row(agency="HHS", agency_name="HHS", use_case_name="Chatbot  for FAQs")], name="a.csv")
    same = write_2025(tmp_path, [row(agency="HHS", agency_name="HHS", use_case_name="chatbot for faqs")], name="b.csv")

    import_use_cases(first, actor=IMPORT, format="omb-2025", today=TODAY)
    report = import_use_cases(same, actor=IMPORT, format="omb-2025", today=TODAY)

    assert report.created == 0 and UseCase.objects.count() == 1


def test_an_unknown_stage_is_an_error_naming_the_column_and_nothing_is_written(tmp_path):
    path = write_2025(tmp_path, [row(id="DOE-1"), row(id="DOE-2", development_stage="Sunset")])

    with pytest.raises(ImportFailed) as failed:
        import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    [error] = failed.value.errors
    assert str(error).startswith("row 2, column development_stage: 'Sunset' is not a stage this importer knows")
    assert UseCase.objects.count() == 0 and Decision.objects.count() == 0


def test_the_command_reports_row_errors_and_exits_non_zero(tmp_path):
    path = write_2025(tmp_path, [row(development_stage="Sunset")])
    err = io.StringIO()

    with pytest.raises(CommandError, match="1 problem found; nothing was imported"):
        call_command("import_use_cases", str(path), "--format", "omb-2025", stderr=err)

    assert "row 1, column development_stage" in err.getvalue()


def test_stages_map_to_ours_and_pilots_count_from_their_operational_date_else_from_no_invented_day(tmp_path):
    path = write_2025(tmp_path, [
        row(id="DOE-1", development_stage="Pre-deployment"),
        row(id="DOE-2", development_stage="Pilot", operational_date="7/15/2024"),
        row(id="DOE-3", development_stage="Deployed", operational_date="Jan-23"),
        row(id="DOE-4", development_stage="retired"),
        row(id="DOE-5", development_stage=""),
        row(id="DOE-6", development_stage="Pilot", operational_date="12/2099"),
    ])

    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    # a stage without a date of its own began on a day nobody reported: no day is invented
    got = {u.external_id: (u.stage, u.stage_entered_on) for u in UseCase.objects.all()}
    assert got == {
        "DOE-1": (Stage.VALIDATING, None),
        "DOE-2": (Stage.PILOT, datetime.date(2024, 7, 15)),
        "DOE-3": (Stage.PRODUCTION, datetime.date(2023, 1, 1)),
        "DOE-4": (Stage.RETIRED, None),
        "DOE-5": (Stage.UNREPORTED, None),  # a blank stage is not reported, never proposed
        "DOE-6": (Stage.PILOT, None),  # a date in the future is a plan
    }
    move = StageTransition.objects.get(use_case__external_id="DOE-2")
    assert (move.source, move.from_stage, move.to_stage, move.dated) == ("import", "", Stage.PILOT, True)
    # the undated ones sit on the inventory's date (the latest reached date in the file), by which they held
    inventory_date = datetime.date(2024, 7, 15)
    assert set(UseCase.objects.values_list("source_as_of", flat=True)) == {inventory_date}
    undated = StageTransition.objects.get(use_case__external_id="DOE-5")
    assert (undated.to_stage, undated.dated, undated.occurred_at.date()) == (Stage.UNREPORTED, False, inventory_date)


@pytest.mark.parametrize("text, expected", [
    ("2025-09-08 00:00:00", datetime.date(2025, 9, 8)),
    ("3/1/2024", datetime.date(2024, 3, 1)),
    ("10/01/2023 12:00:00 AM", datetime.date(2023, 10, 1)),
    ("09/2022", datetime.date(2022, 9, 1)),
    ("Jul-21", datetime.date(2021, 7, 1)),
    ("2019", datetime.date(2019, 1, 1)),
    ("N/A", None),
    ("TBD", None),
    ("13/45/2020", None),
])
def test_source_dates_are_read_as_agencies_wrote_them(text, expected):
    assert parse_source_date(text) == expected


def test_contacts_become_business_owners_and_people_are_created(tmp_path):
    Person.objects.create(email="known@doe.gov", name="Known Person")
    path = write_2025(tmp_path, [
        row(id="DOE-1", contact_email="Jane.Doe@DOE.gov"),
        row(id="DOE-2", contact_email="jacob.carley@noaa.gov, cc: daryl.kleist@noaa.gov"),
        row(id="DOE-3", contact_email="https://home.treasury.gov/utility/contact"),
        row(id="DOE-4", contact_email=""),
        row(id="DOE-5", contact_email="known@doe.gov"),
    ])

    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    owners = dict(UseCase.objects.values_list("external_id", "business_owner__email"))
    assert owners == {"DOE-1": "jane.doe@doe.gov", "DOE-2": "jacob.carley@noaa.gov", "DOE-3": None,
                      "DOE-4": None, "DOE-5": "known@doe.gov"}
    assert UseCase.objects.filter(technical_owner__isnull=False).count() == 0
    jane = Person.objects.get(email="jane.doe@doe.gov")
    assert jane.business_unit.name == "Department of Energy (DOE)"
    assert UseCase.objects.get(external_id="DOE-1").business_owner_confirmed_on == TODAY
    assert Person.objects.get(email="known@doe.gov").name == "Known Person"


def test_the_default_format_still_refuses_unknown_owner_emails(tmp_path):
    path = tmp_path / "contract.csv"
    path.write_text("external_id,title,business_unit,decision,business_owner\nX-1,T,Unit,Which?,nobody@x.com\n")

    with pytest.raises(ImportFailed, match="no person with email 'nobody@x.com'"):
        import_use_cases(path, actor=IMPORT)


def test_every_use_case_starts_under_its_agencys_placeholder_decision(tmp_path):
    path = write_2025(tmp_path, [row(id="DOE-1"), row(id="DOE-2"),
                                 row(id="1", agency="EPA", agency_name="Environmental Protection Agency")])

    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    placeholders = Decision.objects.filter(is_defined=False)
    assert placeholders.count() == 2
    assert set(placeholders.values_list("statement", flat=True)) == {PLACEHOLDER_STATEMENT}
    assert UseCase.objects.get(external_id="DOE-1").decision == UseCase.objects.get(external_id="DOE-2").decision


def test_a_stated_decision_survives_a_reimport_and_moves_only_its_use_case(tmp_path):
    path = write_2025(tmp_path, [row(id="DOE-1"), row(id="DOE-2")])
    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)
    first = UseCase.objects.get(external_id="DOE-1")

    decision = state_decision(use_case=first, statement="Which code changes are reviewed first?", actor=TEST_ACTOR)
    report = import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    assert report.updated == 0
    assert UseCase.objects.get(external_id="DOE-1").decision == decision
    assert decision.is_defined and decision.owner.email == "jane.doe@doe.gov"
    assert not UseCase.objects.get(external_id="DOE-2").decision.is_defined


def test_the_published_encodings_and_line_breaks_are_read(tmp_path):
    rows = [row(id="DOE-1", use_case_name="Café résumé triage", problem_solved="Line one\nline two")]
    cp1252 = write_2025(tmp_path, rows, encoding="cp1252", name="old.csv")

    import_use_cases(cp1252, actor=IMPORT, format="omb-2025", today=TODAY)

    use_case = UseCase.objects.get()
    assert use_case.title == "Café résumé triage"
    assert use_case.summary == "Line one\nline two"
    assert use_case.source_record["problem_solved"] == "Line one\nline two"


def test_a_dry_run_writes_nothing(tmp_path):
    path = write_2025(tmp_path, [row(id="DOE-1"), row(id="DOE-2")])
    out = io.StringIO()

    call_command("import_use_cases", str(path), "--format", "omb-2025", "--dry-run", stdout=out)

    assert "2 use cases would be created" in out.getvalue()
    assert UseCase.objects.count() == Person.objects.count() == Decision.objects.count() == 0


def test_summary_and_capability_come_from_the_problem_benefits_outputs_and_classification(tmp_path):
    path = write_2025(tmp_path, [row(problem_solved="Slow reviews.", benefits="Faster reviews.", system_outputs="",
                                     classification="Generative AI", topic_area="IT")])

    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    use_case = UseCase.objects.get()
    assert use_case.summary == "Slow reviews.\n\nFaster reviews."
    assert use_case.capability == "Generative AI — IT"
    assert use_case.source_format == "omb-2025"


def test_an_imported_file_exports_back_byte_for_byte(tmp_path):
    path = write_2025(tmp_path, [
        row(id="DOE-1", contact_email="Jane.Doe@DOE.gov", vendor_name="GitHub, Inc.", problem_solved='He said "hi"\nok'),
        row(id="", agency="HHS", agency_name="Department of Health and Human Services", development_stage="",
            contact_email="hhs.caio@hhs.gov", use_case_name="  Chatbot  "),
    ])
    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)
    exported = tmp_path / "back.csv"

    count = export_use_cases(exported, format="omb-2025")

    assert count == 2
    assert exported.read_bytes() == path.read_bytes()


def test_changes_made_in_last_mile_are_exported_in_the_omb_columns(tmp_path):
    path = write_2025(tmp_path, [row(id="DOE-1", development_stage="Pre-deployment", vendor_name="GitHub")])
    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)
    use_case = UseCase.objects.get()
    use_case.title = "GitHub Copilot for code review"
    use_case.business_owner = Person.objects.create(email="new.owner@doe.gov")
    use_case.save()
    UseCase.objects.filter(pk=use_case.pk).update(stage=Stage.PRODUCTION)
    exported = tmp_path / "back.csv"

    export_use_cases(exported, format="omb-2025")

    [written] = list(csv.DictReader(exported.open(encoding="utf-8-sig", newline="")))
    assert written["use_case_name"] == "GitHub Copilot for code review"
    assert written["contact_email"] == "new.owner@doe.gov"
    assert written["development_stage"] == "Deployed"
    assert written["vendor_name"] == "GitHub"  # the rest as the source had it
    assert written["id"] == "DOE-1"



def test_a_published_file_whose_cells_a_spreadsheet_would_run_still_exports_byte_for_byte(tmp_path):
    # The 2025 inventory has benefits written as "- item" lists and cells the publisher already
    # quoted ("'- No custom models"): the publisher's cells go back exactly as published.
    path = write_2025(tmp_path, [
        row(id="DOE-1", benefits="- Faster reviews\n- Fewer errors", data_description="'- No custom models",
            vendor_name="=HYPERLINK(\"http://x\")", problem_solved="+1 analyst", system_outputs="@mentions"),
        row(id="DOE-2", use_case_name="-Dash first", problem_solved="'=quoted by the publisher"),
    ])
    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)
    exported = tmp_path / "back.csv"

    export_use_cases(exported, format="omb-2025")

    assert exported.read_bytes() == path.read_bytes()
    assert UseCase.objects.get(external_id="DOE-2").title == "-Dash first"


def test_what_last_mile_writes_into_the_omb_columns_is_text_and_imports_back_unchanged(tmp_path):
    from tests.factories import UseCaseFactory

    path = write_2025(tmp_path, [row(id="DOE-1")])
    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)
    UseCase.objects.filter(external_id="DOE-1").update(title='=HYPERLINK("http://evil.example","Open")',
                                                       summary="-1 analyst a day")
    UseCaseFactory(external_id="@FIN-7", title="+Invoice triage", decision__business_unit__name="=Finance")
    exported = tmp_path / "back.csv"

    export_use_cases(exported, format="omb-2025")

    written = list(csv.DictReader(exported.open(encoding="utf-8-sig", newline="")))
    assert written[0]["use_case_name"] == "'=HYPERLINK(\"http://evil.example\",\"Open\")"
    assert written[0]["problem_solved"] == "'-1 analyst a day"
    assert written[0]["vendor_name"] == ""
    assert (written[1]["agency"], written[1]["id"], written[1]["use_case_name"]) == ("'=Finance", "'@FIN-7", "'+Invoice triage")
    assert not [v for r in written for v in r.values() if v[:1] in ("=", "+", "-", "@", "\t", "\r")]

    # imported again: the title and summary are what Last Mile had, and the file goes out the same
    import_use_cases(exported, actor=IMPORT, format="omb-2025", today=TODAY)
    use_case = UseCase.objects.get(external_id="DOE-1")
    assert (use_case.title, use_case.summary) == ('=HYPERLINK("http://evil.example","Open")', "-1 analyst a day")
    again = tmp_path / "again.csv"
    export_use_cases(again, format="omb-2025")
    assert again.read_bytes().startswith(exported.read_bytes())


def test_use_cases_registered_in_last_mile_are_exported_too(tmp_path):
    from tests.factories import UseCaseFactory

    UseCaseFactory(external_id="FIN-7", title="Invoice triage", decision__business_unit__name="Finance")
    exported = tmp_path / "back.csv"

    export_use_cases(exported, format="omb-2025")

    [written] = list(csv.DictReader(exported.open(encoding="utf-8-sig", newline="")))
    assert (written["agency"], written["id"], written["use_case_name"], written["development_stage"]) == (
        "Finance", "FIN-7", "Invoice triage", "Pre-deployment")


HEADER_2024 = ["Use Case Name", "Agency", "Agency Abbreviation", "Bureau", "Use Case Topic Area",
               "What is the intended purpose and expected benefits of the AI?", "Describe the AI system’s outputs.",
               "Stage of Development", "Date Initiated", "Date when Acquisition and/or Development began",
               "Date Implemented", "Date Retired", "If Other, please explain.", "If Other, please explain."]


def write_2024(tmp_path, rows):
    path = tmp_path / "inventory_2024.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER_2024)
        writer.writerows(rows)
    return path


def test_the_2024_stage_dates_become_the_stage_history(tmp_path):
    path = write_2024(tmp_path, [
        ["Change detection", "Department of Commerce", "DOC", "Census", "Science", "Finds changes", "Maps",
         "Implementation and Assessment", "1/4/2021", "5/24/2023", "8/1/2023", "", "a", "b"],
        ["Old tool", "Department of Commerce", "DOC", "", "", "", "", "Retired",
         "10/1/2019", "10/1/2018", "", "10/1/2024", "", ""],
        ["Plan", "Department of Commerce", "DOC", "", "", "", "", "Initiated", "1/1/2025", "6/1/2025", "9/1/2025", "", "", ""],
    ])

    import_use_cases(path, actor=IMPORT, format="omb-2024", today=TODAY)

    def history(title):
        return [(t.to_stage, t.occurred_at.date()) for t in
                StageTransition.objects.filter(use_case__title=title).order_by("occurred_at", "id")]

    assert history("Change detection") == [(Stage.PROPOSED, datetime.date(2021, 1, 4)),
                                           (Stage.VALIDATING, datetime.date(2023, 5, 24)),
                                           (Stage.PILOT, datetime.date(2023, 8, 1))]
    # development "began" before initiation: counted from initiation, so the trail reads in order
    assert history("Old tool") == [(Stage.PROPOSED, datetime.date(2019, 10, 1)),
                                   (Stage.VALIDATING, datetime.date(2019, 10, 1)),
                                   (Stage.RETIRED, datetime.date(2024, 10, 1))]
    # dates of stages not reached yet are plans, not history
    assert history("Plan") == [(Stage.PROPOSED, datetime.date(2025, 1, 1))]
    change = UseCase.objects.get(title="Change detection")
    assert change.external_id.startswith("DOC-2024-h")
    assert change.source_record["If Other, please explain. (2)"] == "b"
    assert change.business_owner is None


def test_a_workbook_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "inventory.xlsx"
    path.write_bytes(b"PK\x03\x04 not a csv")

    with pytest.raises(ImportFailed, match="read the CSV file as published"):
        import_use_cases(path, actor=IMPORT, format="omb-2025")


def test_only_the_agencies_of_the_file_get_a_placeholder(tmp_path):
    from tests.factories import BusinessUnitFactory

    BusinessUnitFactory(name="Finance")
    path = write_2025(tmp_path, [row(id="DOE-1")])

    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    assert list(Decision.objects.values_list("business_unit__name", flat=True)) == ["Department of Energy (DOE)"]


# The high-impact columns: the OMB determination and the minimum practices ---------------------------

HIGH_IMPACT_ROW = dict(
    id="DOE-9", development_stage="Deployed", is_high_impact="High-impact", HI_justification="",
    hi_potential_impacts="False matches could delay benefits.", hi_testing_conducted="Yes",
    hi_assessment_completed="In-progress", hi_independent_review="CAIO Review",
    hi_ongoing_monitoring="Yes - Monitoring Established", hi_training_established="Training In-progress",
    hi_failsafe_presence="Not Applicable", hi_appeal_process="Appeal Precluded by Law",
    hi_public_consultation="['General solicitations of \\ncomments from the public', 'Other']",
)


def practices_of(external_id: str) -> dict[str, tuple[str, str]]:
    from registry.models import PracticeRecord

    return {r.practice: (r.status, r.evidence_note)
            for r in PracticeRecord.objects.filter(use_case__external_id=external_id)}


def test_the_high_impact_columns_become_the_determination_and_the_practices_with_their_words(tmp_path):
    from registry.models import OMBDetermination

    path = write_2025(tmp_path, [
        row(**HIGH_IMPACT_ROW),
        row(id="DOE-10", is_high_impact="Presumed High-Impact, but Not High-impact",
            HI_justification="Only drafts text a person reviews.", hi_independent_review="CAIO Waived",
            hi_training_established="b) Development of monitoring protocols is in-progess",
            hi_public_consultation="['Planning includes direct usability testing during pilot phase.']"),
        row(id="DOE-11", hi_public_consultation="[]"),
    ])

    report = import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    assert report.created == 3
    high = OMBDetermination.objects.get(use_case__external_id="DOE-9")
    assert (high.is_high_impact, high.hi_potential_impacts) == ("high_impact", "False matches could delay benefits.")
    assert high.determined_on == report.as_of and high.determined_by is None
    assert practices_of("DOE-9") == {
        "testing_conducted": ("done", "Reported as “Yes” in the OMB 2025 inventory (hi_testing_conducted)."),
        "assessment_completed": ("in_progress", ""),
        "independent_review": ("done", "CAIO Review"),
        "ongoing_monitoring": ("done", "Reported as “Yes - Monitoring Established” in the OMB 2025 inventory "
                                       "(hi_ongoing_monitoring)."),
        "training_established": ("in_progress", ""),
        "failsafe_presence": ("not_applicable", ""),
        "appeal_process": ("not_applicable", "Appeal Precluded by Law"),
        "public_consultation": ("done", "General solicitations of \ncomments from the public\nOther"),
    }
    presumed = OMBDetermination.objects.get(use_case__external_id="DOE-10")
    assert (presumed.is_high_impact, presumed.hi_justification) == (
        "presumed_not_high_impact", "Only drafts text a person reviews.")
    # a waiver without its dates and an answer to another question are kept in the source record only;
    # a consultation that is still a plan is in progress
    assert practices_of("DOE-10") == {
        "public_consultation": ("in_progress", "Planning includes direct usability testing during pilot phase."),
    }
    # a blank determination and an empty list report nothing
    assert not OMBDetermination.objects.filter(use_case__external_id="DOE-11").exists()
    assert practices_of("DOE-11") == {}


def test_the_high_impact_columns_export_back_byte_for_byte_and_reimport_changes_nothing(tmp_path):
    path = write_2025(tmp_path, [
        row(**HIGH_IMPACT_ROW),
        row(id="DOE-10", is_high_impact="Not High-impact", HI_justification=" Productivity only. ",
            hi_independent_review="CAIO Waived", hi_training_established="a) Yes, sufficient monitoring protocols "
            "have been established", hi_ongoing_monitoring="Yes – by an agency AI oversight board not directly "
            "involved in the AI’s development", hi_public_consultation="[]"),
    ])
    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)
    versions = dict(UseCase.objects.values_list("external_id", "version"))
    exported = tmp_path / "back.csv"

    export_use_cases(exported, format="omb-2025")
    report = import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    assert exported.read_bytes() == path.read_bytes()
    assert (report.updated, report.unchanged) == (0, 2)
    assert dict(UseCase.objects.values_list("external_id", "version")) == versions


def test_determinations_and_practices_changed_in_last_mile_go_out_in_their_columns(tmp_path):
    from registry.services.determinations import determine_high_impact, record_practice
    from tests.factories import UseCaseFactory

    path = write_2025(tmp_path, [row(**HIGH_IMPACT_ROW)])
    import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)
    use_case = UseCase.objects.get(external_id="DOE-9")
    # given: the owner records two practices, the program office changes the determination
    record_practice(use_case=use_case, practice="assessment_completed", status="done", actor=TEST_ACTOR,
                    evidence_link="https://doe.gov/aia/9")
    record_practice(use_case=use_case, practice="public_consultation", status="in_progress", actor=TEST_ACTOR)
    record_practice(use_case=use_case, practice="independent_review", status="done", actor=TEST_ACTOR,
                    evidence_note="Oversight Board Review")
    determine_high_impact(use_case=use_case, is_high_impact="not_high_impact", actor=TEST_ACTOR,
                          hi_justification="No significant effect on rights or safety.",
                          hi_potential_impacts="False matches could delay benefits.")
    # and a use case registered in Last Mile has its own
    registered = UseCaseFactory(external_id="FIN-7", title="Invoice triage", decision__business_unit__name="Finance")
    determine_high_impact(use_case=registered, is_high_impact="high_impact", actor=TEST_ACTOR)
    record_practice(use_case=registered, practice="failsafe_presence", status="done", actor=TEST_ACTOR,
                    evidence_note="A clerk confirms every match.")
    exported = tmp_path / "back.csv"

    export_use_cases(exported, format="omb-2025")

    written, mine = list(csv.DictReader(exported.open(encoding="utf-8-sig", newline="")))
    assert written["is_high_impact"] == "Not High-impact"
    assert written["HI_justification"] == "No significant effect on rights or safety."
    assert written["hi_assessment_completed"] == "Yes"
    assert written["hi_public_consultation"] == "['In-progress']"
    assert written["hi_independent_review"] == "Oversight Board Review"
    # the cells that still say what Last Mile holds go back as published
    for column in ("hi_potential_impacts", "hi_testing_conducted", "hi_ongoing_monitoring", "hi_training_established",
                   "hi_failsafe_presence", "hi_appeal_process"):
        assert written[column] == HIGH_IMPACT_ROW[column], column
    assert (mine["is_high_impact"], mine["hi_failsafe_presence"], mine["hi_testing_conducted"]) == (
        "High-impact", "Yes", "")

    # imported again, the export says the same and changes nothing
    import_use_cases(exported, actor=IMPORT, format="omb-2025", today=TODAY)
    assert practices_of("DOE-9")["assessment_completed"][0] == "done"
    assert practices_of("DOE-9")["public_consultation"][0] == "in_progress"
    again = tmp_path / "again.csv"
    export_use_cases(again, format="omb-2025")
    assert again.read_bytes().startswith(exported.read_bytes())  # (then the registered one imported as a new row)


def test_a_later_inventory_reporting_a_practice_done_updates_it_and_the_use_case_version(tmp_path):
    first = write_2025(tmp_path, [row(**HIGH_IMPACT_ROW)], name="a.csv")
    later = write_2025(tmp_path, [row(**{**HIGH_IMPACT_ROW, "hi_assessment_completed": "Yes",
                                         "hi_testing_conducted": ""})], name="b.csv")
    import_use_cases(first, actor=IMPORT, format="omb-2025", today=TODAY)
    version = UseCase.objects.get().version

    report = import_use_cases(later, actor=IMPORT, format="omb-2025", today=TODAY)

    assert report.updated == 1 and UseCase.objects.get().version == version + 1
    practices = practices_of("DOE-9")
    assert practices["assessment_completed"][0] == "done"
    assert practices["testing_conducted"][0] == "done"  # a blank cell reports nothing: Last Mile's record stays


def test_bad_high_impact_values_are_refused_naming_row_and_column_and_nothing_is_written(tmp_path):
    from registry.models import OMBDetermination, PracticeRecord

    path = write_2025(tmp_path, [
        row(**HIGH_IMPACT_ROW),
        row(id="DOE-2", is_high_impact="Maybe", hi_testing_conducted="Sort of",
            hi_public_consultation="Usability testing"),
    ])

    with pytest.raises(ImportFailed) as failed:
        import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)

    errors = [str(e) for e in failed.value.errors]
    assert errors == [
        "row 2, column hi_public_consultation: 'Usability testing' is not a list of answers as the inventory "
        "writes them (['Usability Testing', 'Other'], ['In-progress'] or [])",
        "row 2, column hi_testing_conducted: 'Sort of' is not an answer this importer knows "
        "(in progress, in-progress, no, not applicable, yes)",
        "row 2, column is_high_impact: 'Maybe' is not a determination this importer knows "
        "(High-impact, Not High-impact, Presumed High-Impact, but Not High-impact)",
    ]
    assert UseCase.objects.count() == 0
    assert OMBDetermination.objects.count() == 0 and PracticeRecord.objects.count() == 0


def test_the_import_of_the_high_impact_columns_takes_as_many_queries_for_30_rows_as_for_3(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("SQLite binds at most 999 parameters a statement: its bulk writes split with the rows")

    def queries(rows, name):
        path = write_2025(tmp_path, rows, name=name)
        with CaptureQueriesContext(connection) as captured:
            import_use_cases(path, actor=IMPORT, format="omb-2025", today=TODAY)
        return len(captured)

    def rows(prefix, count, **changes):
        return [row(**{**HIGH_IMPACT_ROW, "id": f"{prefix}-{n}", **changes}) for n in range(count)]

    queries([row(**{**HIGH_IMPACT_ROW, "id": "DOE-first"})], "unit.csv")  # the unit, its placeholder decision and the contact exist
    assert queries(rows("DOE", 30), "b.csv") == queries(rows("DOI", 3), "a.csv")
    # and again, each row's determination and practices changed
    changed = {"is_high_impact": "Not High-impact", "hi_testing_conducted": "In-progress"}
    assert queries(rows("DOE", 30, **changed), "d.csv") == queries(rows("DOI", 3, **changed), "c.csv")
