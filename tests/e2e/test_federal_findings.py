"""The whole US federal 2025 inventory (../shared/data/, 3,611 use cases, 41 agencies), imported
and scanned as a program office would: findings it can read in full, each naming its cause.

Before issue 11 one scan opened 8,397 findings, 1,850 critical: a missing decision, technical
owner and KPI on every row of a format that has no such field, and one ownership finding per
use case of each shared mailbox. Prints the open findings per kind and severity, with a few
examples of each (`pytest -s` to see them).

Time as the data can show it: the 2025 file speaks as of 2026-04-01 (the latest date it reports
as reached), so its pilots are aged then, not on the day of the scan, and the same data scanned
two months later gives the same stalls; the 2024 file, where loaded, gives the 2025 rows still
in development their past (DHS "ARMOR", in development since 2021).
"""

import ast
import csv
import io
import json
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.utils import timezone

import datetime

from core.actors import IMPORT
from registry.inventory.formats import import_use_cases
from registry.models import Stage, UseCase
from tests.federal_data import FILE_2024, FILE_2025, needs_2024, needs_2025

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SEVERITIES = ["critical", "high", "medium", "low"]
EXAMPLES = 3


def _print_summary(findings: list[dict]) -> None:
    by_kind = defaultdict(list)
    for finding in findings:
        by_kind[finding["kind"]].append(finding)
    print(f"\n{len(findings):,} open findings on the federal 2025 inventory "
          f"({', '.join(f'{s} {n:,}' for s, n in sorted(Counter(f['severity'] for f in findings).items(), key=lambda i: SEVERITIES.index(i[0])))})")
    for kind, of_kind in sorted(by_kind.items()):
        severities = Counter(f["severity"] for f in of_kind)
        print(f"  {kind}: {len(of_kind):,} ({', '.join(f'{s} {severities[s]:,}' for s in SEVERITIES if s in severities)})")
        worst = sorted(of_kind, key=lambda f: (SEVERITIES.index(f["severity"]), -len(f["use_cases"])))
        for finding in worst[:EXAMPLES]:
            print(f"    - [{finding['severity']}] {finding['title']}  ({len(finding['use_cases']):,} use cases: "
                  f"{', '.join(finding['use_cases'][:4])}{'…' if len(finding['use_cases']) > 4 else ''})")


INVENTORY_2025 = datetime.date(2026, 4, 1)


def _scan(as_of: datetime.date, *kinds: str) -> list[dict]:
    out = io.StringIO()
    call_command("scan", "--json", "--as-of", as_of.isoformat(), *[f"--kind={k}" for k in kinds], stdout=out)
    return json.loads(out.getvalue())["findings"]


def _stalled_by_title(findings: list[dict]) -> dict[str, dict]:
    return {f["title"].split("'")[1]: f for f in findings if f["kind"] == "stalled_pilot"}


@needs_2025
def test_the_federal_inventory_gives_a_few_hundred_findings_each_naming_its_cause():
    report = import_use_cases(FILE_2025, actor=IMPORT, format="omb-2025")
    assert report.as_of == INVENTORY_2025
    findings = _scan(timezone.localdate())
    _print_summary(findings)
    kinds = Counter(f["kind"] for f in findings)
    live = UseCase.objects.exclude(stage=Stage.RETIRED).count()

    # a program office can read the whole inbox: hundreds, not 8,397 (besides the high-impact
    # use cases without their minimum practices, checked against the file below)
    others = [f for f in findings if f["kind"] != "high_impact_practices"]
    assert 300 <= len(others) <= 1000
    # critical is rare: tens, not 1,850 (again besides high-impact AI deployed without its practices)
    assert 10 <= Counter(f["severity"] for f in others)["critical"] <= 100
    _check_high_impact([f for f in findings if f["kind"] == "high_impact_practices"])

    # NASA's CAIO mailbox is one finding, listing every live use case it owns by external id
    [nasa] = [f for f in findings if f["kind"] == "orphaned_ownership"
              and f["detail"].get("owner") == "agency-caio@mail.nasa.gov"]
    assert len(nasa["use_cases"]) > 400
    assert all(key.startswith("NASA-") for key in nasa["use_cases"])
    # …as are the other agencies' AI-office mailboxes
    mailboxes = Counter(f["detail"]["owner"] for f in findings if f["detail"].get("problem") == "generic_mailbox")
    assert {"hhs.caio@hhs.gov", "ai@usdoj.gov", "caio@doi.gov", "ai@hq.dhs.gov"} <= set(mailboxes)
    assert set(mailboxes.values()) == {1}
    # one person named for a whole agency is a concentration: SEC and FDIC
    concentrated = {f["detail"]["business_unit"] for f in findings if f["detail"].get("problem") == "concentration"}
    assert {"Securities and Exchange Commission (SEC)", "Federal Deposit Insurance Corporation (FDIC)"} <= concentrated

    # what the OMB format has no field for is one low finding per agency, not a defect of each row
    assert kinds["missing_decision"] == 0
    assert kinds["broken_feedback_loop"] == 0
    assert not [f for f in findings if f["kind"] == "orphaned_ownership" and f["detail"]["role"] == "technical_owner"]
    no_decision = [f for f in findings if f["kind"] == "inventory_completeness" and f["detail"]["fact"] == "decision"]
    assert len(no_decision) == 41
    assert sum(len(f["use_cases"]) for f in no_decision) == live == 3297
    assert {f["severity"] for f in no_decision} == {"low"}
    [nasa_decisions] = [f for f in no_decision if f["detail"]["business_unit"].endswith("(NASA)")]
    assert nasa_decisions["title"] == (
        f"{nasa_decisions['detail']['count']} use cases of National Aeronautics and Space Administration (NASA) "
        "from the OMB 2025 inventory state no decision: the format has no such field"
    )
    assert set(nasa["use_cases"]) <= set(nasa_decisions["use_cases"])
    # …and a blank in a field it has is a gap per agency, with its rows
    no_contact = [f for f in findings if f["kind"] == "inventory_completeness" and f["detail"]["fact"] == "business_owner"]
    assert no_contact and all(f["detail"]["problem"] == "blank" and f["severity"] == "medium" for f in no_contact)

    # every finding of the kinds rolled up here names its members
    assert all(f["use_cases"] for f in findings)

    # a blank stage is "Stage not reported", never proposed, and a gap per agency with its rows
    unreported = UseCase.objects.filter(stage=Stage.UNREPORTED)
    assert unreported.count() == 338
    no_stage = [f for f in findings if f["kind"] == "inventory_completeness" and f["detail"]["fact"] == "stage"]
    assert {key for f in no_stage for key in f["use_cases"]} == set(unreported.values_list("external_id", flat=True))

    # time as the data can show it: pilots are aged on the inventory's date, not on the day of the scan
    stalled = [f for f in findings if f["kind"] == "stalled_pilot"]
    assert 300 <= len(stalled) <= 450
    assert {f["detail"]["judged_on"] for f in stalled} == {INVENTORY_2025.isoformat()}
    assert not [f for f in stalled if f["severity"] == "critical"]  # no decision, no stated cost of delay
    [sentiment] = [f for f in stalled if f["use_cases"] == ["DOJ-0259"]]
    assert sentiment["title"] == ("'Sentiment Analysis Tool' has been in pilot for 212 days (limit 90) "
                                  "as of 2026-04-01, the inventory's date")
    assert sentiment["severity"] == "high"
    # …so the same data scanned two months later gives the same stalls, not 1,919
    later = _scan(timezone.localdate() + datetime.timedelta(days=62), "stalled_pilot")
    assert sorted(f["use_cases"] for f in later) == sorted(f["use_cases"] for f in stalled)
    # a pilot or deployment without an operational date is not aged: a gap per agency, with its rows
    undated = [f for f in findings if f["kind"] == "inventory_completeness" and f["detail"]["fact"] == "stage_date"]
    assert 150 <= sum(f["detail"]["count"] for f in undated) <= 250

    _check_duplicates([f for f in findings if f["kind"] == "duplicate_capability"])

@needs_2025
@needs_2024
def test_with_the_2024_inventory_loaded_the_2025_rows_still_in_development_show_since_when():
    import_use_cases(FILE_2025, actor=IMPORT, format="omb-2025")
    report = import_use_cases(FILE_2024, actor=IMPORT, format="omb-2024")
    print(f"\n{report.linked:,} OMB 2025 rows linked to their 2024 rows; the 2024 file speaks as of {report.as_of}")
    assert 1000 <= report.linked <= 1100

    armor = UseCase.objects.get(external_id="DHS-314")
    assert armor.earlier_report.title == "Advance RPM Maintenance Operating Reporter (ARMOR)"
    assert armor.stage_entered_on == datetime.date(2021, 10, 1)

    stalled = _stalled_by_title(_scan(timezone.localdate(), "stalled_pilot"))
    armor_stall = stalled["Advance RPM Maintenance Operating Reporter (ARMOR)"]
    assert armor_stall["use_cases"] == ["DHS-314"]  # the 2025 row only: its 2024 report is its past
    assert armor_stall["detail"]["stage_entered_on"] == "2021-10-01"
    assert armor_stall["severity"] == "high"
    from_2025 = [f for f in stalled.values() if not f["use_cases"][0].count("-2024-")]
    assert 450 <= len(from_2025) <= 550  # about a hundred more than the 2025 file alone shows


# The answers of the 2025 file that report each minimum practice done, in the file's own words:
# counted here from the CSV itself, not through the importer's mapping.
DONE_IN_FILE = {
    "testing_conducted": {"Yes"},
    "assessment_completed": {"Yes"},
    "independent_review": {"Internal Independent Review", "CAIO Review", "Oversight Board Review"},
    "ongoing_monitoring": {"Yes - Monitoring Established",
                           "Yes – by an agency AI oversight board not directly involved in the AI’s development"},
    "training_established": {"Training Established"},
    "failsafe_presence": {"Yes"},
    "appeal_process": {"Appeal Process Established"},
}


def _done_in_file(row: dict, practice: str) -> bool:
    cell = row[f"hi_{practice}"]
    if practice != "public_consultation":
        return cell in DONE_IN_FILE[practice]
    # a list of consultations held; "['In-progress']" and plans ("Planning includes …") are not done
    return any(not (a.startswith("Planning") or a.lower().endswith("in-progress")) for a in ast.literal_eval(cell))


PRACTICES = [*DONE_IN_FILE, "public_consultation"]


def _check_high_impact(found: list[dict]) -> None:
    """Every high-impact row of the file in pilot or deployed with a practice it does not report
    done is one finding naming exactly those practices: critical deployed, high in pilot."""
    with FILE_2025.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    high_impact = [r for r in rows if r["is_high_impact"] == "High-impact"]
    live = [r for r in high_impact if r["development_stage"] in ("Pilot", "Deployed")]
    deployed = [r for r in live if r["development_stage"] == "Deployed"]
    # the figures, counted in the file
    assert (len(high_impact), len(live)) == (445, 250)
    assert sum(not _done_in_file(r, "ongoing_monitoring") for r in live) == 210
    assert (sum(_done_in_file(r, "testing_conducted") for r in deployed), len(deployed)) == (44, 227)

    def named(row):
        return row["agency"], row["id"], row["use_case_name"]

    expected = {}
    for row in live:
        missing = [p for p in PRACTICES if not _done_in_file(row, p)]
        if missing:
            expected.setdefault(named(row), []).append(
                (missing, "critical" if row["development_stage"] == "Deployed" else "high"))
    records = dict(UseCase.objects.filter(external_id__in=[k for f in found for k in f["use_cases"]])
                   .values_list("external_id", "source_record"))
    reported = {}
    for finding in found:
        assert finding["detail"]["problem"] == "practices_missing"  # the file has no waivers
        [key] = finding["use_cases"]
        reported.setdefault(named(records[key]), []).append(
            ([m["practice"] for m in finding["detail"]["missing"]], finding["severity"]))
    print(f"\nhigh-impact: {len(high_impact)} rows, {len(live)} in pilot or deployed, "
          f"{sum(len(v) for v in expected.values())} of them missing a practice; "
          f"{len(found)} findings ({dict(Counter(f['severity'] for f in found))}); by practice: "
          f"{dict(Counter(m['practice'] for f in found for m in f['detail']['missing']))}")
    assert sum(len(v) for v in expected.values()) == len(found) == 242
    assert {k: sorted(v) for k, v in reported.items()} == {k: sorted(v) for k, v in expected.items()}


def _print_duplicates(duplicates: list[dict]) -> None:
    severities = Counter(f["severity"] for f in duplicates)
    print(f"\n{len(duplicates)} duplicate capabilities ({', '.join(f'{s} {severities[s]}' for s in SEVERITIES)}), "
          "the ten largest:")
    for finding in sorted(duplicates, key=lambda f: (-len(f["use_cases"]), f["title"]))[:10]:
        print(f"  [{finding['severity']}] {finding['title']}  products {finding['detail']['products']}, "
              f"terms {finding['detail']['shared_terms'][:5]}")
        for member in finding["detail"]["members"][:6]:
            print(f"      {member['use_case']:18} {member['business_unit'][:40]:40} {member['sub_unit'][:24]:24} "
                  f"{member['stage']:10} {member['title'][:60]}")


def _check_duplicates(duplicates: list[dict]) -> None:
    """What a program office would expect of the duplicate capabilities, checked by hand in the file."""
    _print_duplicates(duplicates)

    def group_of(key: str) -> set[str]:
        return next((set(f["use_cases"]) for f in duplicates if key in f["use_cases"]), {key})

    # FOIA request processing (triage, review, redaction) is one group across agencies
    [foia] = [f for f in duplicates if "DOT-1000073" in f["use_cases"]]
    assert {"DHS-2567", "DOJ-0295", "HHS-hdc51843e7a", "HHS-heef771e41a", "NARA - 0011"} <= set(foia["use_cases"])
    assert foia["detail"]["capability"].startswith("FOIA") and len(foia["detail"]["business_units"]) >= 5
    # public voice bots: the VA's and ICE's call-centre voice bots; the FTC's IVR assistant with
    # the VA's IVR speech services
    assert "DHS-2436" in group_of("VA-24-2758")
    assert "VA-24-913" in group_of("FTC-0013")
    # the same product across agencies: legal research (LexisNexis, Westlaw) in ten agencies or
    # more; GitHub Copilot at Commerce and Energy; Microsoft 365 Copilot at the FTC and Energy,
    # which is not the coding assistant
    [legal] = [f for f in duplicates if "DOJ-0105" in f["use_cases"]]
    assert len(legal["detail"]["business_units"]) >= 10 and "LexisNexis" in legal["detail"]["products"]
    assert {"DOC-175", "DOE-584"} <= group_of("DOE-584")
    assert "DOE-577" in group_of("FTC-0010") and "DOE-584" not in group_of("FTC-0010")
    # homonyms and names: USPTO's "Pre-Exam Application" rows are not with FDIC's
    # "Pre-Examination Planning", and no pair is explained by NIST
    assert not {"DOC-212", "DOC-215", "DOC-99", "DOC-223"} & group_of("FDIC – 19")
    assert not [f for f in duplicates for pair in f["detail"]["pairs"] if "nist" in map(str.lower, pair["terms"])]
    # one unit may hold several members when they are in different bureaus
    assert any(len(f["detail"]["business_units"]) < len(f["use_cases"]) for f in duplicates)
    for finding in duplicates:
        members = finding["detail"]["members"]
        assert len(finding["use_cases"]) == len(members) >= 2
        assert len(finding["detail"]["pairs"]) == len(members) * (len(members) - 1) // 2
        # titled by what is duplicated, not by the inventory's classification
        assert not finding["title"].startswith(("Generative AI —", "Classical ML —", "Other"))
    # critical is rare: the same system run twice in production
    assert sum(f["severity"] == "critical" for f in duplicates) <= 25
