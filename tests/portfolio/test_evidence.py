"""portfolio.evidence: every finding's detail as sentences and tables a person reads."""

import datetime

import pytest
from django.utils import timezone

from core.actors import COMMAND
from demo.generator import seed_demo_portfolio
from portfolio.evidence import PRESENTERS, Facts, Member, Members, fallback, label, number, present
from portfolio.models import Finding
from portfolio.services.scans import run_scan_now
from registry.inventory.federal.mapping import PLACEHOLDER_STATEMENT
from registry.models import Stage, StageTransition
from registry.services.determinations import determine_high_impact, grant_waiver
from tests.factories import TEST_ACTOR, BusinessUnitFactory, DecisionFactory, UseCaseFactory

TODAY = datetime.date(2026, 3, 1)
REPRS = ("{'", "['", "':", "',", '{"', '["', "None", "True", "False")


def words(evidence) -> str:
    cells = " ".join(cell.text for table in evidence.tables for row in table.rows for cell in row)
    return " ".join([*evidence.sentences, *(t.caption for t in evidence.tables), cells])


def test_labels_and_numbers_read_as_people_write_them():
    assert label("days_in_stage") == "Days in stage"
    assert label("limit_days") == "Limit (days)"
    assert label("kpis") == "KPIs"
    assert number(3297) == "3,297" and number(0.61803) == "0.62" and number(12.0) == "12" and number(True) == "yes"


def test_the_fallback_reads_any_shape_without_a_repr():
    evidence = fallback({
        "owner": None, "gaps": ["a", "b", "c"], "scores": {"fairness": 0.8123},
        "rows": [{"use_case": "UC-1", "terms": ["invoice", "po"]}], "nested": {"a": {"b": [1, 2]}},
        "many": list(range(20)),
    })

    text = words(evidence)
    assert "Owner: —." in evidence.sentences and "Gaps: a, b and c." in evidence.sentences
    assert "Nested: A: B: 1, 2." in evidence.sentences
    assert [t.caption for t in evidence.tables] == ["Scores", "Rows", "Many"]
    assert evidence.tables[1].headings == ["Use case", "Terms"] and evidence.tables[1].rows[0][1].text == "invoice, po"
    assert len(evidence.tables[2].rows) == 20
    for mark in REPRS:
        assert mark not in text


def test_one_use_case_reads_in_the_singular():
    one = present("inventory_completeness", {"problem": "no_field", "fact": "kpi", "source": "omb-2025",
                                             "business_unit": "NASA", "count": 1, "by_stage": {"production": 1}})
    many = present("inventory_completeness", {"problem": "blank", "fact": "description", "source": "omb-2024",
                                              "business_unit": "NASA", "count": 3297, "by_stage": {"pilot": 3297}})

    assert one.sentences[0] == "1 use case of NASA from the OMB 2025 inventory has no KPI."
    assert many.sentences[0].startswith("3,297 use cases of NASA from the OMB 2024 inventory have no description")


def test_a_members_table_says_how_many_it_leaves_out():
    shown = [Member(pk, f"UC-{pk}", f"Use case {pk}", "pilot", "NASA") for pk in range(5)]

    evidence = present("orphaned_ownership", {"object": "use_cases", "role": "business_owner", "owner": "ai@nasa.gov",
                                              "problem": "generic_mailbox", "count": 417, "business_units": ["NASA"]},
                       members=shown, member_count=417)

    assert evidence.sentences[0] == "ai@nasa.gov, a shared mailbox, is the only business owner of 417 use cases of NASA."
    assert evidence.tables[0].members and evidence.tables[0].more == 412 and evidence.tables[0].more_text == "412"


@pytest.mark.django_db
def test_every_key_the_detectors_write_has_words(settings):
    """The demo portfolio and a few imported rows give findings of every kind; each kind's words
    read every key of its detail, so nothing falls to the generic fallback."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_demo_portfolio(use_cases=200, seed=1, today=TODAY)
    unit = BusinessUnitFactory(name="NASA")
    placeholder = DecisionFactory(business_unit=unit, statement=PLACEHOLDER_STATEMENT, is_defined=False, owner=None)
    imported_on = TODAY - datetime.timedelta(days=30)
    for source, stage in (("omb-2025", Stage.PRODUCTION), ("omb-2025", Stage.PILOT), ("contract", Stage.PILOT)):
        use_case = UseCaseFactory(decision=placeholder, business_unit=unit, source_format=source, stage=stage,
                                  stage_entered_on=imported_on, technical_owner=None, business_owner=None, summary="",
                                  source_record={"development_stage": ""})
        StageTransition.objects.create(use_case=use_case, from_stage="", to_stage=stage, source="import",
                                       occurred_at=timezone.make_aware(datetime.datetime.combine(imported_on, datetime.time())))

    # high-impact AI in production missing its practices, with a waiver expired and one reported late
    high_impact = UseCaseFactory(stage=Stage.PRODUCTION, stage_entered_on=imported_on)
    StageTransition.objects.create(use_case=high_impact, from_stage="", to_stage=Stage.PRODUCTION, source="import",
                                   occurred_at=timezone.make_aware(datetime.datetime.combine(imported_on, datetime.time())))
    determine_high_impact(use_case=high_impact, is_high_impact="high_impact", actor=TEST_ACTOR)
    granted_on = TODAY - datetime.timedelta(days=40)
    grant_waiver(use_case=high_impact, practice="appeal_process", justification="x", granted_on=granted_on,
                 expires_on=granted_on + datetime.timedelta(days=10), actor=TEST_ACTOR)
    grant_waiver(use_case=high_impact, practice="failsafe_presence", justification="x", granted_on=granted_on,
                 expires_on=TODAY + datetime.timedelta(days=10), reported_on=TODAY, actor=TEST_ACTOR)

    run_scan_now(as_of=TODAY, actor=COMMAND)

    findings = Finding.objects.prefetch_related("use_cases__business_unit")
    assert set(findings.values_list("kind", flat=True)) == set(PRESENTERS)
    assert {f.detail["problem"] for f in findings.filter(kind="high_impact_practices")} == {
        "practices_missing", "waiver_expired", "waiver_unreported", "waiver_reported_late"}
    for finding in findings:
        facts = Facts(finding.detail)
        members = [Member.of(u) for u in finding.use_cases.all()]
        evidence = PRESENTERS[finding.kind](facts, Members(members, len(members)))
        assert facts.unread() == {}, (finding.kind, finding.detail)
        text = words(evidence)
        for mark in REPRS:
            assert mark not in text, (finding.kind, text)


def test_a_duplicate_groups_richer_detail_reads_as_tables_of_members_and_pairs():
    """The shape the duplicates scan is moving to: a capability, products, members with sub-units,
    pairs with their lexical and semantic scores and shared words."""
    shown = [Member(1, "EPA-1", "Comment analyzer", "pilot", "EPA")]
    evidence = present("duplicate_capability", {
        "capability": "Public comment analysis", "products": ["Regulations.gov"], "shared_terms": ["comment", "public"],
        "members": [{"use_case": "EPA-1", "title": "Comment analyzer", "business_unit": "EPA", "sub_unit": "OAR", "stage": "pilot"},
                    {"use_case": "DOT-7", "title": "Public comments AI", "business_unit": "DOT", "sub_unit": "", "stage": "production"}],
        "pairs": [{"use_cases": ["EPA-1", "DOT-7"], "score": 0.7104, "lexical": 0.5, "semantic": None,
                   "terms": ["comment", "public"], "products": []}],
        "similarity": {"min": 0.7104, "mean": 0.7104}, "business_units": ["DOT", "EPA"],
    }, members=shown, member_count=2)

    assert evidence.sentences[:2] == [
        "2 use cases in DOT and EPA build the same capability: Public comment analysis. They share the words comment and public.",
        "They name the same product: Regulations.gov.",
    ]
    group, pairs = evidence.tables
    assert group.headings == ["Business unit", "Sub-unit", "Use case", "Stage"]
    assert [(c.text, c.use_case) for c in group.rows[0]] == [("EPA", None), ("OAR", None), ("Comment analyzer", 1), ("Pilot", None)]
    assert pairs.headings == ["Use case", "Use case", "Similarity", "Same words", "Same meaning", "Shared words", "Shared products"]
    assert [c.text for c in pairs.rows[0]] == ["Comment analyzer", "Public comments AI", "0.71", "0.5", "—", "comment, public", "—"]


def test_a_stall_judged_on_an_inventorys_date_from_an_inexact_start_says_so():
    """The shape the stalled-pilot scan is moving to for imported rows."""
    evidence = present("stalled_pilot", {
        "stage": "pilot", "stage_entered_on": "2024-06-01", "stage_entered_on_exact": False, "days_in_stage": 400,
        "limit_days": 90, "judged_on": "2025-07-05", "inventory_as_of": "2025-07-05", "days_since_activity": 400,
        "inactivity_limit_days": 60, "last_activity": "2024-06-01", "last_activity_kind": "stage_move", "days_over": 340,
        "cost_of_delay_per_day": None, "estimated_cost_of_delay": None, "decision_frequency": None, "reasons": [],
    })

    assert evidence.sentences[0] == ("In pilot since 2024-06-01 or earlier: at least 400 days by 2025-07-05, "
                                     "the inventory's date, 310 over the 90-day limit.")
    assert evidence.tables == []
