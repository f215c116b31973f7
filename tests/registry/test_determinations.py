"""Determinations (OMB M-25-21 high-impact, minimum practices, waivers, EU AI Act class) and the
gates that use them, through the real services."""

import datetime
import itertools

import pytest

from core.errors import InvalidInput, NotAllowed, Refused
from registry.gates import MoveRefused
from registry.models import (
    EUClassification, EUObligation, HighImpact, OMBDetermination, Practice, PracticeRecord, PracticeStatus, Stage,
    UseCase, Waiver,
)
from registry.selectors.determinations import obligations_for, waiver_state
from registry.services.determinations import (
    classify_eu, determine_high_impact, grant_waiver, record_practice, record_waiver_reported, revoke_waiver,
    set_obligation_date,
)
from registry.services.lifecycle import move_use_case
from tests.factories import TEST_ACTOR, PersonFactory, ProductionReadyUseCaseFactory, UserFactory, signed_off

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 30)
STATUSES = list(PracticeStatus.values)
EVIDENCE = {"done": {"evidence_link": "https://wiki.example.com/testing-report"},
            "not_applicable": {"evidence_note": "No decision about a person is made."}}


@pytest.fixture
def office():
    return UserFactory(username="office", groups=["program_office"])


@pytest.fixture
def caio():
    return UserFactory(username="caio", groups=["chief_ai_officer"])


def in_validating(**overrides) -> UseCase:
    use_case = ProductionReadyUseCaseFactory(**overrides)
    return move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)


def high_impact(use_case: UseCase) -> UseCase:
    determine_high_impact(use_case=use_case, is_high_impact=HighImpact.HIGH_IMPACT, actor=TEST_ACTOR)
    return use_case


def all_done(use_case: UseCase, *, except_: tuple[str, ...] = ()) -> None:
    for practice in Practice.values:
        if practice not in except_:
            record_practice(use_case=use_case, practice=practice, status="done", actor=TEST_ACTOR, **EVIDENCE["done"])


def refused_codes(use_case: UseCase, stage: str) -> set[str]:
    use_case.refresh_from_db()
    with pytest.raises(MoveRefused) as refused:
        move_use_case(use_case=use_case, to_stage=stage, actor=TEST_ACTOR)
    return {c.code for c in refused.value.unmet}


# OMB determination -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["program_office", "chief_ai_officer"])
def test_the_program_office_or_a_chief_ai_officer_determines_and_the_history_says_who_and_why(role):
    user = UserFactory(username="determiner", groups=[role])
    use_case = ProductionReadyUseCaseFactory()
    version = use_case.version

    determination = determine_high_impact(
        use_case=use_case, is_high_impact=HighImpact.PRESUMED_NOT_HIGH_IMPACT, actor=user,
        hi_justification="Only routes tickets; no decision about a person's rights.", on=TODAY)

    record = determination.history.latest()
    assert (record.history_user, record.history_change_reason) == (
        user, "Only routes tickets; no decision about a person's rights.")
    assert determination.determined_on == TODAY and determination.determined_by == user
    use_case.refresh_from_db()
    assert use_case.version == version + 1
    assert "OMB determination" in use_case.history.latest().history_change_reason


def test_presumed_high_impact_is_determined_not_only_with_a_justification():
    use_case = ProductionReadyUseCaseFactory()
    with pytest.raises(InvalidInput) as refused:
        determine_high_impact(use_case=use_case, is_high_impact=HighImpact.PRESUMED_NOT_HIGH_IMPACT,
                              hi_justification="   ", actor=TEST_ACTOR)
    assert "hi_justification" in refused.value.errors
    assert not OMBDetermination.objects.exists()


@pytest.mark.parametrize(("value", "field"), [("yes", "is_high_impact"), (None, "is_high_impact"),
                                              ("High-impact", "is_high_impact")])
def test_a_garbage_determination_names_its_field_and_writes_nothing(value, field):
    use_case = ProductionReadyUseCaseFactory()
    with pytest.raises(InvalidInput) as refused:
        determine_high_impact(use_case=use_case, is_high_impact=value, actor=TEST_ACTOR)
    assert field in refused.value.errors
    assert not OMBDetermination.objects.exists()
    assert UseCase.objects.get(pk=use_case.pk).version == use_case.version


def test_an_owner_does_not_determine_their_own_use_case_not_high_impact():
    owner = UserFactory(username="ann", groups=["business_owner"])
    use_case = ProductionReadyUseCaseFactory(business_owner=PersonFactory(email="ann@example.com"))
    with pytest.raises(NotAllowed):
        determine_high_impact(use_case=use_case, is_high_impact=HighImpact.NOT_HIGH_IMPACT, actor=owner)
    assert not OMBDetermination.objects.exists()


# Minimum practices -------------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "after"), list(itertools.product(STATUSES, STATUSES)))
def test_every_transition_of_a_practice_is_recorded_with_who_and_when(before, after, office):
    use_case = ProductionReadyUseCaseFactory()
    record_practice(use_case=use_case, practice="ongoing_monitoring", status=before, actor=TEST_ACTOR,
                    **EVIDENCE.get(before, {}))

    record = record_practice(use_case=use_case, practice="ongoing_monitoring", status=after, actor=office,
                             on=TODAY, **EVIDENCE.get(after, {}))

    assert PracticeRecord.objects.get(use_case=use_case, practice="ongoing_monitoring").status == after
    assert record.updated_on == TODAY
    latest = record.history.latest()
    assert latest.history_user == office and PracticeStatus(after).label.lower() in latest.history_change_reason


def test_a_done_practice_needs_evidence_and_a_not_applicable_one_a_note():
    use_case = ProductionReadyUseCaseFactory()
    with pytest.raises(InvalidInput) as no_evidence:
        record_practice(use_case=use_case, practice="testing_conducted", status="done", actor=TEST_ACTOR)
    with pytest.raises(InvalidInput) as no_note:
        record_practice(use_case=use_case, practice="appeal_process", status="not_applicable", actor=TEST_ACTOR,
                        evidence_link="https://example.com")
    assert "evidence_link" in no_evidence.value.errors and "evidence_note" in no_note.value.errors
    assert not PracticeRecord.objects.exists()


@pytest.mark.parametrize(("fields", "named"), [
    ({"practice": "testing", "status": "done"}, "practice"),
    ({"practice": "testing_conducted", "status": "finished"}, "status"),
    ({"practice": "testing_conducted", "status": "done", "evidence_link": "not a url"}, "evidence_link"),
    ({"practice": "testing_conducted", "status": "in_progress", "evidence_note": 12}, "evidence_note"),
])
def test_a_garbage_practice_names_its_field_and_writes_nothing(fields, named):
    use_case = ProductionReadyUseCaseFactory()
    with pytest.raises(InvalidInput) as refused:
        record_practice(use_case=use_case, actor=TEST_ACTOR, **fields)
    assert named in refused.value.errors
    assert not PracticeRecord.objects.exists()
    assert UseCase.objects.get(pk=use_case.pk).version == use_case.version


def test_an_owner_records_the_practices_of_their_use_case_and_nobody_elses():
    ann = UserFactory(username="ann", groups=["business_owner"])
    mine = ProductionReadyUseCaseFactory(business_owner=PersonFactory(email="ann@example.com"))
    theirs = ProductionReadyUseCaseFactory()

    record_practice(use_case=mine, practice="training_established", status="in_progress", actor=ann)
    with pytest.raises(NotAllowed):
        record_practice(use_case=theirs, practice="training_established", status="in_progress", actor=ann)


# Waivers -----------------------------------------------------------------------------------------


def test_a_chief_ai_officer_grants_reports_and_revokes_a_waiver(caio):
    use_case = ProductionReadyUseCaseFactory()

    waiver = grant_waiver(use_case=use_case, practice="independent_review", justification="No reviewer exists yet.",
                          granted_on=TODAY, expires_on=TODAY + datetime.timedelta(days=365), actor=caio)
    assert waiver.granted_by == caio and waiver_state(waiver, TODAY).label == "in force"

    reported = record_waiver_reported(waiver=waiver, reported_on=TODAY + datetime.timedelta(days=30), actor=caio)
    assert reported.reported_on == TODAY + datetime.timedelta(days=30)
    assert not waiver_state(reported, TODAY + datetime.timedelta(days=60)).reported_late

    revoked = revoke_waiver(waiver=waiver, reason="A reviewer was hired.", actor=caio, on=TODAY + datetime.timedelta(days=90))
    assert waiver_state(revoked, TODAY + datetime.timedelta(days=91)).label == "revoked"
    assert [r.history_change_reason for r in revoked.history.order_by("history_id")] == [
        "No reviewer exists yet.", f"reported on {TODAY + datetime.timedelta(days=30)}", "A reviewer was hired."]


def test_a_waiver_is_in_force_until_its_expiry_and_reported_late_after_30_days(caio):
    waiver = grant_waiver(use_case=ProductionReadyUseCaseFactory(), practice="failsafe_presence", justification="x",
                          granted_on=TODAY, expires_on=TODAY + datetime.timedelta(days=10), actor=caio)
    assert waiver.in_force(TODAY + datetime.timedelta(days=10))
    assert not waiver.in_force(TODAY + datetime.timedelta(days=11))
    assert waiver_state(waiver, TODAY + datetime.timedelta(days=11)).label == "expired"
    assert not waiver_state(waiver, TODAY + datetime.timedelta(days=30)).reported_late
    assert waiver_state(waiver, TODAY + datetime.timedelta(days=31)).reported_late


@pytest.mark.parametrize("role", ["program_office", "business_owner", "approver"])
def test_only_a_chief_ai_officer_waives(role):
    user = UserFactory(username="someone", groups=[role])
    with pytest.raises(NotAllowed):
        grant_waiver(use_case=ProductionReadyUseCaseFactory(), practice="failsafe_presence", justification="x",
                     expires_on=datetime.date(2030, 1, 1), actor=user)
    assert not Waiver.objects.exists()


@pytest.mark.parametrize(("fields", "named"), [
    ({"practice": "all_of_them"}, "practice"),
    ({"justification": "  "}, "justification"),
    ({"expires_on": TODAY}, "expires_on"),
    ({"expires_on": "2030-01-01"}, "expires_on"),
    ({"reported_on": TODAY - datetime.timedelta(days=1)}, "reported_on"),
])
def test_a_garbage_waiver_names_its_field_and_writes_nothing(fields, named, caio):
    given = {"practice": "failsafe_presence", "justification": "Because.", "granted_on": TODAY,
             "expires_on": TODAY + datetime.timedelta(days=30), **fields}
    with pytest.raises(InvalidInput) as refused:
        grant_waiver(use_case=ProductionReadyUseCaseFactory(), actor=caio, **given)
    assert named in refused.value.errors
    assert not Waiver.objects.exists()


def test_a_waiver_is_not_granted_twice_reported_twice_or_revoked_twice(caio):
    use_case = ProductionReadyUseCaseFactory()
    waiver = grant_waiver(use_case=use_case, practice="appeal_process", justification="x", granted_on=TODAY,
                          expires_on=TODAY + datetime.timedelta(days=30), actor=caio)
    with pytest.raises(Refused):
        grant_waiver(use_case=use_case, practice="appeal_process", justification="y", granted_on=TODAY,
                     expires_on=TODAY + datetime.timedelta(days=60), actor=caio)
    record_waiver_reported(waiver=waiver, reported_on=TODAY, actor=caio)
    with pytest.raises(Refused):
        record_waiver_reported(waiver=waiver, reported_on=TODAY, actor=caio)
    revoke_waiver(waiver=waiver, reason="done now", actor=caio, on=TODAY)
    with pytest.raises(Refused):
        revoke_waiver(waiver=waiver, reason="again", actor=caio, on=TODAY)
    assert Waiver.objects.count() == 1


# EU AI Act -----------------------------------------------------------------------------------------


def test_an_annex_iii_deployer_gets_its_obligations_with_the_dates_the_program_office_keeps(office):
    use_case = ProductionReadyUseCaseFactory()
    classification = classify_eu(use_case=use_case, role="deployer", risk_class="high_risk_annex_iii",
                                 annex_iii_area="employment", rationale="Ranks job applicants.", actor=office)

    codes = [o.code for o in obligations_for(classification)]
    assert codes == ["ai_literacy", "fundamental_rights_impact_assessment", "high_risk_deployer_annex_iii"]

    obligation = EUObligation.objects.get(code="high_risk_deployer_annex_iii")
    set_obligation_date(obligation=obligation, applies_from=datetime.date(2027, 12, 2), actor=office,
                        reason="Digital omnibus moved the Annex III date.")
    moved = {o.code: o.applies_from for o in obligations_for(classification)}
    assert moved["high_risk_deployer_annex_iii"] == datetime.date(2027, 12, 2)
    assert EUObligation.objects.get(code="high_risk_deployer_annex_iii").history.latest().history_user == office


def test_the_art_50_obligations_follow_a_transparency_duty_besides_the_class(office):
    classification = classify_eu(use_case=ProductionReadyUseCaseFactory(), role="provider", risk_class="minimal",
                                 transparency_art50=True, rationale="A chatbot.", actor=office)
    assert "transparency_provider" in [o.code for o in obligations_for(classification)]


@pytest.mark.parametrize(("fields", "named"), [
    ({"role": "user"}, "role"),
    ({"risk_class": "high"}, "risk_class"),
    ({"risk_class": "high_risk_annex_iii"}, "annex_iii_area"),
    ({"risk_class": "minimal", "annex_iii_area": "employment"}, "annex_iii_area"),
    ({"risk_class": "annex_iii_not_significant", "annex_iii_area": "employment"}, "derogation_condition"),
    ({"risk_class": "annex_iii_not_significant", "annex_iii_area": "employment",
      "derogation_condition": "preparatory_task", "profiles_natural_persons": True}, "risk_class"),
    ({"derogation_condition": "preparatory_task"}, "derogation_condition"),
    ({"rationale": ""}, "rationale"),
    ({"transparency_art50": "yes"}, "transparency_art50"),
])
def test_a_garbage_eu_classification_names_its_field_and_writes_nothing(fields, named, office):
    given = {"role": "deployer", "risk_class": "minimal", "rationale": "Spell checker.", **fields}
    with pytest.raises(InvalidInput) as refused:
        classify_eu(use_case=ProductionReadyUseCaseFactory(), actor=office, **given)
    assert named in refused.value.errors
    assert not EUClassification.objects.exists()


def test_the_art_6_3_derogation_is_recorded_with_its_condition(office):
    classification = classify_eu(
        use_case=ProductionReadyUseCaseFactory(), role="provider", risk_class="annex_iii_not_significant",
        annex_iii_area="education", derogation_condition="preparatory_task", rationale="Drafts a summary only.",
        actor=office)
    assert [o.code for o in obligations_for(classification)] == ["ai_literacy", "derogation_documented"]


# The gates use them ------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [Stage.PILOT, Stage.PRODUCTION])
def test_a_high_impact_use_case_is_refused_naming_every_practice_neither_done_nor_waived(stage):
    use_case = high_impact(in_validating())
    if stage == Stage.PRODUCTION:
        all_done(use_case)
        signed_off(use_case, Stage.PILOT)
        move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR)
        record_practice(use_case=use_case, practice="ongoing_monitoring", status="in_progress", actor=TEST_ACTOR)
        record_practice(use_case=use_case, practice="appeal_process", status="not_applicable", actor=TEST_ACTOR,
                        evidence_note="No appeal: internal tool.")
    signed_off(use_case, stage)

    codes = refused_codes(use_case, stage)

    expected = ({f"practice_{p}" for p in Practice.values} if stage == Stage.PILOT
                else {"practice_ongoing_monitoring", "practice_appeal_process"})
    assert codes == expected


def test_each_refused_practice_is_named_in_words():
    use_case = high_impact(in_validating())
    all_done(use_case, except_=("public_consultation",))
    signed_off(use_case, Stage.PILOT)
    with pytest.raises(MoveRefused) as refused:
        move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR)
    assert [c.message for c in refused.value.unmet] == [
        "high-impact: the minimum practice 'Consultation and feedback from affected people' is not started, "
        "neither done nor waived"]


def test_a_practice_waived_and_in_force_passes_the_gate_until_the_waiver_expires(caio):
    use_case = high_impact(in_validating())
    all_done(use_case, except_=("independent_review",))
    grant_waiver(use_case=use_case, practice="independent_review", justification="No reviewer yet.",
                 granted_on=TODAY - datetime.timedelta(days=10), expires_on=TODAY, actor=caio)
    signed_off(use_case, Stage.PILOT)
    when = datetime.datetime.combine(TODAY + datetime.timedelta(days=1), datetime.time(12), tzinfo=datetime.UTC)

    with pytest.raises(MoveRefused) as expired:
        move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR, on=when)
    moved = move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR,
                          on=when - datetime.timedelta(days=1))

    assert {c.code for c in expired.value.unmet} == {"practice_independent_review"}
    assert moved.stage == Stage.PILOT


def test_a_use_case_not_high_impact_passes_without_practices():
    use_case = in_validating()
    determine_high_impact(use_case=use_case, is_high_impact=HighImpact.NOT_HIGH_IMPACT, actor=TEST_ACTOR)
    signed_off(use_case, Stage.PILOT)
    assert move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR).stage == Stage.PILOT


@pytest.mark.parametrize("stage", [Stage.VALIDATING, Stage.PILOT])
def test_a_prohibited_practice_cannot_move_forward_but_can_retire(stage, office):
    use_case = ProductionReadyUseCaseFactory()
    if stage == Stage.PILOT:
        use_case = in_validating()
    classify_eu(use_case=use_case, role="deployer", risk_class="prohibited", rationale="Social scoring.", actor=office)

    use_case.refresh_from_db()
    with pytest.raises(MoveRefused) as refused:
        move_use_case(use_case=use_case, to_stage=stage, actor=TEST_ACTOR)
    assert [c.code for c in refused.value.unmet] == ["prohibited_practice"]
    assert move_use_case(use_case=use_case, to_stage=Stage.RETIRED, actor=TEST_ACTOR,
                         reason="Prohibited by the EU AI Act").stage == Stage.RETIRED
