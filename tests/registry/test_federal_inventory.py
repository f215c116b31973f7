"""The published US federal AI use case inventories, imported whole (../shared/data/).

These read the real files, which live beside the repository (CI clones it with ../shared);
without them the tests are skipped, saying so.
"""

import csv
import datetime
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from core.actors import IMPORT
from portfolio.models import FindingKind, Policy
from portfolio.detectors import inventory_completeness, missing_decision, orphaned_ownership, stalled_pilots
from registry.inventory.federal.mapping import PLACEHOLDER_STATEMENT
from registry.inventory.formats import import_use_cases
from registry.models import (
    BusinessUnit, Decision, OMBDetermination, Person, PracticeRecord, Stage, StageTransition, UseCase,
)
from tests.federal_data import FILE_2024, FILE_2025, needs_2024, needs_2025

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

STAGE_2025 = {"Pre-deployment": Stage.VALIDATING, "Pilot": Stage.PILOT, "Deployed": Stage.PRODUCTION,
              "Retired": Stage.RETIRED, "": Stage.UNREPORTED}


def source_rows(path):
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@needs_2025
def test_the_whole_2025_inventory_imports_with_counts_per_stage_and_agency_as_in_the_source():
    # given the published file, read independently
    rows = source_rows(FILE_2025)
    assert len(rows) == 3611

    # when it is imported
    report = import_use_cases(FILE_2025, actor=IMPORT, format="omb-2025")

    # then every row is a use case, none refused, each under a stable key
    assert (report.rows, report.created) == (3611, 3611)
    assert UseCase.objects.count() == 3611
    assert UseCase.objects.filter(external_id__isnull=True).count() == 0
    expected_stages = Counter(STAGE_2025[r["development_stage"]] for r in rows)
    assert dict(UseCase.objects.values_list("stage").annotate(n=Count("pk"))) == expected_stages
    agencies = UseCase.objects.annotate(agency=KeyTextTransform("agency", "source_record"))
    assert dict(agencies.values_list("agency").annotate(n=Count("pk"))) == Counter(r["agency"] for r in rows)
    assert BusinessUnit.objects.count() == len({r["agency"] for r in rows}) == 41
    hhs = BusinessUnit.objects.get(name="Department of Health and Human Services (HHS)")
    assert hhs.use_cases.count() == 447
    # every use case sits under its agency's placeholder decision
    assert Decision.objects.filter(is_defined=False, statement=PLACEHOLDER_STATEMENT).count() == 41
    assert UseCase.objects.filter(decision__is_defined=True).count() == 0
    # nothing of the source is lost
    doi_0015 = UseCase.objects.get(external_id="DOI-0015")
    assert doi_0015.title == "Untitled use case DOI-0015"  # the one row without a name
    assert doi_0015.source_record["contact_email"] == "caio@doi.gov"
    assert len(doi_0015.source_record) == 36
    # blank and repeated ids: the keys of the document's examples
    assert UseCase.objects.filter(external_id__in=["DOJ-0357", "DOJ-0357~2", "EPA-35", "NSF-35", "TREAS-35"]).count() == 5
    # contacts become owners: people created for the addresses, the shared mailboxes among them
    assert UseCase.objects.filter(business_owner__email="hhs.caio@hhs.gov").count() == 447
    assert UseCase.objects.filter(business_owner__isnull=True).count() == sum(
        1 for r in rows if "@" not in r["contact_email"] or r["contact_email"].strip() == "Gerardo Nixon"
    )
    assert Person.objects.filter(email="szczepanikv@sec.gov").exists()


@needs_2025
def test_the_2025_inventory_exported_again_gives_the_same_values_column_by_column(tmp_path):
    import_use_cases(FILE_2025, actor=IMPORT, format="omb-2025")
    exported = tmp_path / "inventory.csv"

    out = io.StringIO()
    call_command("export_use_cases", str(exported), "--format", "omb-2025", stdout=out)

    assert "3611 use cases written" in out.getvalue()
    source, back = source_rows(FILE_2025), source_rows(exported)
    assert list(back[0]) == list(source[0])
    for number, (before, after) in enumerate(zip(source, back, strict=True), start=1):
        for column in before:
            assert after[column] == before[column], f"row {number}, column {column}"
    # as published, byte for byte: BOM, line breaks inside fields and all
    assert exported.read_bytes() == FILE_2025.read_bytes()


@needs_2025
def test_reimporting_the_2025_inventory_changes_nothing():
    import_use_cases(FILE_2025, actor=IMPORT, format="omb-2025")
    transitions = StageTransition.objects.count()

    report = import_use_cases(FILE_2025, actor=IMPORT, format="omb-2025")

    assert (report.created, report.updated, report.unchanged) == (0, 0, 3611)
    assert StageTransition.objects.count() == transitions
    # the determinations and practices the file reports (counted in the file: 426 rows leave
    # is_high_impact blank; every practice cell but a waiver without dates and three answers
    # to another question maps to a record)
    determinations = Counter(OMBDetermination.objects.values_list("is_high_impact", flat=True))
    assert determinations == {"not_high_impact": 2630, "high_impact": 445, "presumed_not_high_impact": 110}
    assert PracticeRecord.objects.filter(practice="testing_conducted").count() == 258
    assert PracticeRecord.objects.filter(practice="training_established").count() == 278
    assert PracticeRecord.objects.filter(practice="public_consultation", status="done").count() == 154


@needs_2024
def test_the_2024_inventory_gives_each_use_case_its_stage_history():
    today = timezone.localdate()

    report = import_use_cases(FILE_2024, actor=IMPORT, format="omb-2024")

    assert report.created == 2133
    assert UseCase.objects.count() == 2133
    assert StageTransition.objects.filter(source="import").count() > 2133  # more than one step for many

    def history(external_id):
        use_case = UseCase.objects.get(external_id=external_id)
        return [(t.from_stage, t.to_stage, timezone.localdate(t.occurred_at))
                for t in use_case.transitions.order_by("occurred_at", "id")]

    # checked by hand in the file: 'Automated Change Detection' (DOC), initiated 1/4/2021,
    # development from 5/24/2023, implemented 8/1/2023, reported in implementation and assessment
    assert history("DOC-2024-h02eef4d6a1") == [
        ("", Stage.PROPOSED, datetime.date(2021, 1, 4)),
        (Stage.PROPOSED, Stage.VALIDATING, datetime.date(2023, 5, 24)),
        (Stage.VALIDATING, Stage.PILOT, datetime.date(2023, 8, 1)),
    ]
    # 'RVSS Legacy Overhauled System Project' (DHS), retired, its retirement date given as
    # "N/A -Consolidated into another use case.": retired by the inventory's date, on a day
    # nobody reported (the import day is no stage entry)
    assert report.as_of == datetime.date(2025, 10, 14)  # the latest date the file reports as reached
    assert history("DHS-2024-hfd7389f4f3") == [
        ("", Stage.PROPOSED, datetime.date(2019, 10, 1)),
        (Stage.PROPOSED, Stage.VALIDATING, datetime.date(2020, 10, 1)),
        (Stage.VALIDATING, Stage.PRODUCTION, datetime.date(2023, 6, 1)),
        (Stage.PRODUCTION, Stage.RETIRED, report.as_of),
    ]
    assert UseCase.objects.get(external_id="DHS-2024-hfd7389f4f3").stage_entered_on is None
    pilot = UseCase.objects.get(external_id="DOC-2024-h02eef4d6a1")
    assert (pilot.stage, pilot.stage_entered_on) == (Stage.PILOT, datetime.date(2023, 8, 1))
    # the stalled-pilot scan sees that pilot's real duration, on the inventory's date
    found = {d.use_case_ids[0]: d for d in stalled_pilots.detect(as_of=today, policy=Policy())}
    assert found[pilot.pk].detail["days_in_stage"] == (report.as_of - datetime.date(2023, 8, 1)).days


@needs_2025
def test_the_scans_find_mailboxes_long_pilots_and_missing_decisions():
    import_use_cases(FILE_2025, actor=IMPORT, format="omb-2025")
    today = timezone.localdate()
    policy = Policy.current()
    keys = dict(UseCase.objects.values_list("pk", "external_id"))

    # shared mailboxes: the CAIO offices of NASA, HHS, DOI, DOJ, DHS… are nobody
    # (one finding per mailbox listing its use cases, no longer one per use case: a root cause)
    mailboxes = [d for d in orphaned_ownership.detect(as_of=today, policy=policy) if d.detail["problem"] == "generic_mailbox"]
    mailbox_owners = Counter({d.detail["owner"]: len(d.use_case_ids) for d in mailboxes})
    assert len(mailboxes) == len(mailbox_owners)
    live_hhs = [r for r in source_rows(FILE_2025)
                if r["contact_email"] == "hhs.caio@hhs.gov" and r["development_stage"] != "Retired"]
    assert mailbox_owners["hhs.caio@hhs.gov"] == len(live_hhs) == 398  # retired use cases are not judged
    assert {"agency-caio@mail.nasa.gov", "ai@usdoj.gov", "caio@doi.gov", "ai@hq.dhs.gov"} <= set(mailbox_owners)
    assert "szczepanikv@sec.gov" not in mailbox_owners  # a person
    assert sum(mailbox_owners.values()) > 1800

    # long pilots: NASA's 'Adversarial Policy Evolution via AI', a pilot since 2021-09-01, aged
    # on the inventory's date (2026-04-01), not on the day of the scan
    stalled = {keys[d.use_case_ids[0]]: d for d in stalled_pilots.detect(as_of=today, policy=policy)}
    assert stalled["NASA-808"].detail["days_in_stage"] == (datetime.date(2026, 4, 1) - datetime.date(2021, 9, 1)).days
    assert stalled["NASA-808"].severity == "high"  # time alone is never critical (issue 11)
    over_a_year = [d for d in stalled.values() if (d.detail["days_in_stage"] or 0) > 365]
    assert len(over_a_year) >= 200  # a year before the inventory's date

    # the duplicate capabilities it holds are checked in tests/e2e/test_federal_findings.py,
    # where the scan has embedded the use cases' texts first

    # no use case names its decision, and the format has no field for one: not a defect of each
    # row (no missing_decision finding) but one inventory-completeness finding per agency
    assert missing_decision.detect(as_of=today, policy=policy) == []
    no_decision = [d for d in inventory_completeness.detect(as_of=today, policy=policy)
                   if d.detail["fact"] == "decision"]
    assert len(no_decision) == UseCase.objects.values("business_unit").distinct().count() == 41
    assert sum(len(d.use_case_ids) for d in no_decision) == UseCase.objects.exclude(stage=Stage.RETIRED).count() == 3611 - 314
    assert {(d.kind, d.severity) for d in no_decision} == {(FindingKind.INVENTORY_COMPLETENESS, "low")}


@needs_2025
def test_seed_demo_federal_loads_the_2025_inventory_with_the_demo_logins():
    out = io.StringIO()

    call_command("seed_demo", "--federal", "--federal-file", str(FILE_2025), stdout=out)

    assert UseCase.objects.count() == 3611
    assert "3,611  use cases" in out.getvalue()
    from django.contrib.auth.models import User

    owner = User.objects.get(username="owner")
    assert owner.groups.filter(name="business_owner").exists()
    assert UseCase.objects.filter(business_owner__email=owner.email).exists()
    assert set(User.objects.values_list("username", flat=True)) >= {"office", "owner", "auditor"}
