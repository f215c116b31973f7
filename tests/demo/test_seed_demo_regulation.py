"""seed_demo's regulatory records: OMB determinations, minimum practices, waivers and EU AI Act
classifications, in plausible proportions, the same for the same seed and date, valid as the
models have them, and telling their story on the compliance page, the waiver register and
the high_impact_practices scan."""

import datetime
import io
import json
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from django.utils.html import escape

from demo.catalogue import UNITS
from demo.generator import seed_demo_portfolio
from demo.regulation import PROFILES
from registry.gates import practices_neither_done_nor_waived
from registry.models import (
    EUClassification,
    EURiskClass,
    HighImpact,
    OMBDetermination,
    Practice,
    PracticeRecord,
    PracticeStatus,
    Stage,
    UseCase,
    Waiver,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 1)
USE_CASES = 300
REGULATORY_MODELS = (OMBDetermination, PracticeRecord, Waiver, EUClassification)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def portfolio():
    return seed_demo_portfolio(use_cases=USE_CASES, seed=1, today=TODAY)


@pytest.fixture
def portfolio_as_of_today():
    """The pages judge waivers and stages as of the real today, as a fresh bin/demo seeds."""
    return seed_demo_portfolio(use_cases=USE_CASES, seed=1, today=timezone.localdate())


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def regulatory_dump():
    """Every regulatory value seeded, keyed by the use case's external id (primary keys differ between runs)."""
    def rows(queryset, *fields):
        return sorted(tuple(str(v) for v in row) for row in queryset.values_list("use_case__external_id", *fields))
    return {
        "determinations": rows(OMBDetermination.objects, "is_high_impact", "hi_justification", "hi_potential_impacts",
                               "determined_on", "determined_by__username"),
        "practices": rows(PracticeRecord.objects, "practice", "status", "evidence_link", "evidence_note", "updated_on"),
        "waivers": rows(Waiver.objects, "practice", "justification", "granted_on", "expires_on", "reported_on",
                        "granted_by__username", "revoked_on", "revoked_reason"),
        "classifications": rows(EUClassification.objects, "role", "risk_class", "annex_iii_area",
                                "derogation_condition", "profiles_natural_persons", "transparency_art50", "rationale",
                                "classified_on"),
        "history": sorted((model.__name__, str(date), change, reason) for model in REGULATORY_MODELS
                          for date, change, reason in model.history.values_list(
                              "history_date", "history_type", "history_change_reason")),
    }


def test_same_seed_and_date_give_the_same_regulatory_records():
    seed_demo_portfolio(use_cases=USE_CASES, seed=4, today=TODAY)
    first = regulatory_dump()
    seed_demo_portfolio(use_cases=USE_CASES, seed=4, today=TODAY, reset=True)
    assert regulatory_dump() == first
    assert first["determinations"] and first["practices"] and first["waivers"] and first["classifications"]
    seed_demo_portfolio(use_cases=USE_CASES, seed=5, today=TODAY, reset=True)
    assert regulatory_dump()["determinations"] != first["determinations"]


def test_determinations_cover_most_use_cases_that_got_far_and_few_proposals(portfolio):
    by_stage = Counter(UseCase.objects.values_list("stage", flat=True))
    determined = Counter(OMBDetermination.objects.values_list("use_case__stage", flat=True))
    assert _share(determined[Stage.PRODUCTION], by_stage[Stage.PRODUCTION]) > 0.8
    assert _share(determined[Stage.PILOT], by_stage[Stage.PILOT]) > 0.7
    assert _share(determined[Stage.PROPOSED], by_stage[Stage.PROPOSED]) < 0.35
    assert UseCase.objects.filter(omb_determination__isnull=True).exists()

    outcomes = Counter(OMBDetermination.objects.values_list("is_high_impact", flat=True))
    total = sum(outcomes.values())
    assert outcomes[HighImpact.NOT_HIGH_IMPACT] > total / 2
    assert 0.05 < _share(outcomes[HighImpact.HIGH_IMPACT], total) < 0.3
    assert outcomes[HighImpact.PRESUMED_NOT_HIGH_IMPACT] >= 3
    presumed = OMBDetermination.objects.filter(is_high_impact=HighImpact.PRESUMED_NOT_HIGH_IMPACT)
    assert not presumed.filter(hi_justification="").exists()
    assert set(OMBDetermination.objects.values_list("determined_by__username", flat=True)) == {"office"}


def test_high_impact_is_likelier_where_the_decision_concerns_people(portfolio):
    # A scoped decision's statement starts "Scope: which…": match the template's without its first letter.
    concerning_people = {d.statement[1:] for unit in UNITS for d in unit.decisions
                         if d.key in PROFILES and PROFILES[d.key].high_impact_share >= 0.5}

    def about_people(statement: str) -> bool:
        return any(text in statement for text in concerning_people)

    determinations = list(OMBDetermination.objects.values_list("is_high_impact", "use_case__decision__statement"))
    for_people = [outcome for outcome, statement in determinations if about_people(statement)]
    for_the_rest = [outcome for outcome, statement in determinations if not about_people(statement)]
    assert for_people and for_the_rest
    assert _share(for_people.count(HighImpact.HIGH_IMPACT), len(for_people)) > 0.3
    assert _share(for_the_rest.count(HighImpact.HIGH_IMPACT), len(for_the_rest)) < 0.1


def test_practices_are_more_complete_the_further_a_high_impact_use_case_got(portfolio):
    high_impact = UseCase.objects.filter(omb_determination__is_high_impact=HighImpact.HIGH_IMPACT)
    assert not PracticeRecord.objects.exclude(use_case__in=high_impact).exists()

    def complete_share(stage):
        use_cases = list(high_impact.filter(stage=stage))
        complete = [u for u in use_cases if not practices_neither_done_nor_waived(u, TODAY)]
        return _share(len(complete), len(use_cases)), len(use_cases)

    production, in_production = complete_share(Stage.PRODUCTION)
    pilot, in_pilot = complete_share(Stage.PILOT)
    validating, _ = complete_share(Stage.VALIDATING)
    assert in_production and in_pilot
    assert production > 0.5
    assert production > validating
    assert pilot > validating
    done = PracticeRecord.objects.filter(status=PracticeStatus.DONE)
    assert done.exclude(evidence_link="").exists() and done.filter(evidence_link="").exists()
    assert PracticeRecord.objects.filter(status=PracticeStatus.IN_PROGRESS).exists()


def test_every_record_satisfies_the_models_rules_and_has_its_creation_record(portfolio):
    for model in REGULATORY_MODELS:
        records = list(model.objects.all())
        assert records, model
        for record in records:
            record.full_clean()
        created = model.history.filter(history_type="+")
        assert created.count() == len(records), model
        assert set(created.values_list("history_change_reason", flat=True)) == {"demo data"}, model
    for classification in EUClassification.objects.all():
        assert classification.transparency_art50 == (classification.risk_class == EURiskClass.TRANSPARENCY)
    for determination in OMBDetermination.objects.select_related("use_case"):
        assert determination.use_case.created_at.date() <= determination.determined_on < TODAY
    for waiver in Waiver.objects.select_related("use_case__omb_determination"):
        assert waiver.use_case.omb_determination.is_high_impact == HighImpact.HIGH_IMPACT
        assert waiver.use_case.omb_determination.determined_on <= waiver.granted_on
        assert waiver.granted_by.username == "office"


def test_eu_classes_are_mostly_minimal_with_a_few_high_risk_annex_iii_and_chatbots_transparent(portfolio):
    classes = Counter(EUClassification.objects.values_list("risk_class", flat=True))
    assert classes[EURiskClass.MINIMAL] > sum(classes.values()) / 2
    for risk_class in (EURiskClass.HIGH_RISK_ANNEX_III, EURiskClass.NOT_SIGNIFICANT_RISK, EURiskClass.TRANSPARENCY):
        assert classes[risk_class] >= 1, risk_class
    high_risk = EUClassification.objects.filter(risk_class=EURiskClass.HIGH_RISK_ANNEX_III)
    assert set(high_risk.values_list("annex_iii_area", flat=True)) <= {"employment", "essential_services"}
    assert not EUClassification.objects.filter(risk_class=EURiskClass.PROHIBITED).exists()
    assert {"provider", "deployer"} == set(EUClassification.objects.values_list("role", flat=True))
    assert UseCase.objects.filter(eu_classification__isnull=True).exists()


def test_the_scan_opens_some_but_not_most_high_impact_live_use_cases(portfolio):
    out = io.StringIO()
    call_command("scan", "--kind", "high_impact_practices", "--as-of", TODAY.isoformat(), "--json", stdout=out)
    findings = json.loads(out.getvalue())["findings"]
    problems = Counter(f["detail"]["problem"] for f in findings)
    severities = Counter(f["severity"] for f in findings if f["detail"]["problem"] == "practices_missing")
    live = UseCase.objects.filter(omb_determination__is_high_impact=HighImpact.HIGH_IMPACT,
                                  stage__in=[Stage.PILOT, Stage.PRODUCTION]).count()
    assert 0 < problems["practices_missing"] < live / 2
    assert severities["critical"] >= 1 and severities["high"] >= 1
    assert problems["waiver_expired"] == 1
    assert problems["waiver_unreported"] == 1
    assert portfolio.situations[
        "high-impact use cases in pilot or production with a minimum practice neither done nor waived"
    ] == problems["practices_missing"]


def test_the_waiver_register_shows_the_five_situations(client, portfolio_as_of_today):
    client.force_login(User.objects.get(username="office"))
    page = client.get("/waivers/").content.decode()
    today = timezone.localdate()

    waivers = list(Waiver.objects.all())
    assert len(waivers) == 5
    in_force = [w for w in waivers if w.in_force(today)]
    assert any(w.expires_on <= today + datetime.timedelta(days=28) for w in in_force)
    assert any(w.expires_on > today + datetime.timedelta(days=60) and w.reported_on for w in in_force)
    assert any(w.reported_on is None and (today - w.granted_on).days > 30 for w in in_force)
    expired = [w for w in waivers if w.revoked_on is None and w.expires_on < today]
    assert len(expired) == 1
    # its practice is still missing: recorded as not done, or not recorded at all
    assert not expired[0].use_case.practices.filter(practice=expired[0].practice, status=PracticeStatus.DONE).exists()
    revoked = [w for w in waivers if w.revoked_on]
    assert len(revoked) == 1 and revoked[0].revoked_reason
    assert revoked[0].history.filter(history_type="~", history_change_reason=revoked[0].revoked_reason).exists()

    for label in ("in force", "expired", "revoked", "overdue since"):
        assert label in page, label
    for waiver in waivers:
        assert waiver.get_practice_display() in page


def test_the_compliance_page_shows_high_impact_use_cases_and_eu_classes(client, portfolio_as_of_today):
    client.force_login(User.objects.get(username="office"))
    page = client.get("/portfolio/compliance/").content.decode()
    live = UseCase.objects.filter(omb_determination__is_high_impact=HighImpact.HIGH_IMPACT,
                                  stage__in=[Stage.PILOT, Stage.PRODUCTION])
    held = [u for u in live if practices_neither_done_nor_waived(u, timezone.localdate())]
    assert held and len(held) < len(live)
    for use_case in held:
        assert escape(use_case.title) in page
    assert "High-risk: Annex III area" in page
