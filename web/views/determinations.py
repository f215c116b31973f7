"""Determinations and gate sign-offs on the pages: the use case page's section (built here, shown
by use_case_detail.html), signing a gate off, recording a minimum practice, and the waiver register."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError, InvalidInput, NotAllowed, Refused, StaleVersion
from registry import access
from registry.gates import (
    NEXT_STAGE, gate_rows, is_high_impact, practice_statuses, standing_sign_off, waived_practices,
)
from registry.models import SIGN_OFF_STAGES, Practice, PracticeStatus, SignOffOutcome, Stage, UseCase
from registry.selectors.determinations import (
    approvers_for, needs_sign_off, obligations_for, waiver_register, waiver_state,
)
from registry.services.determinations import classify_eu, determine_high_impact, grant_waiver, record_practice
from registry.services.sign_offs import sign_off

from ..errors import message_for
from ..forms import EUClassificationForm, OMBDeterminationForm, PracticeForm, SignOffForm, WaiverForm
from .common import PAGE_SIZE, Feedback, answer, card_use_case

EU_FIELDS = ["role", "risk_class", "annex_iii_area", "derogation_condition", "profiles_natural_persons",
             "transparency_art50", "rationale"]


def determinations_section(use_case: UseCase, user, *, today) -> dict:
    """What the use case page shows of its determinations and sign-offs, and which forms it offers."""
    offer = access.offer_use_case(user, use_case)
    records = {record.practice: record for record in gate_rows(use_case, "practices")}
    waived = waived_practices(use_case, today)
    practices = [
        {"label": Practice(p).label, "status": status, "status_label": PracticeStatus(status).label,
         "record": records.get(p), "waived": p in waived}
        for p, status in practice_statuses(use_case).items()
    ]
    # A missing one-to-one row raises an AttributeError subclass: getattr's default covers it.
    classification = getattr(use_case, "eu_classification", None)
    next_stage = NEXT_STAGE.get(use_case.stage)
    standing = {stage: standing_sign_off(use_case, stage) for stage in SIGN_OFF_STAGES}
    sign_offs = [(s, standing.get(s.stage) == s) for s in gate_rows(use_case, "sign_offs")]
    pending = needs_sign_off(use_case)
    omb = getattr(use_case, "omb_determination", None)
    return {
        "omb": omb,
        "high_impact": is_high_impact(use_case),
        "practices": practices,
        "waivers": [(w, waiver_state(w, today)) for w in gate_rows(use_case, "waivers")],
        "eu": classification,
        "obligations": obligations_for(classification) if classification else [],
        "sign_offs": sign_offs,
        "pending_stage": Stage(pending).label if pending else "",
        "approvers": approvers_for(use_case) if pending else [],
        "sign_off_form": (SignOffForm(initial={"stage": next_stage}, auto_id="signoff-%s")
                          if offer.sign_off and next_stage in SIGN_OFF_STAGES else None),
        "practice_form": (PracticeForm(initial={"expected_version": use_case.version}, auto_id="practice-%s")
                          if offer.change else None),
        "omb_form": (OMBDeterminationForm(initial={"expected_version": use_case.version, **(
            {"is_high_impact": omb.is_high_impact, "hi_justification": omb.hi_justification} if omb else {})},
            auto_id="omb-%s") if offer.determine else None),
        "eu_form": (EUClassificationForm(initial={"expected_version": use_case.version, **(
            {f: getattr(classification, f) for f in EU_FIELDS} if classification else {})},
            auto_id="eu-%s") if offer.determine else None),
        "waiver_form": WaiverForm(auto_id="waiver-%s") if offer.waive else None,
        "today": today,
    }


@login_required
@require_POST
def use_case_sign_off(request, pk):
    """Sign off the next gate. An owner, or anyone without the role, gets the 403 page."""
    use_case = card_use_case(request, pk)
    form = SignOffForm(request.POST)
    if not form.is_valid():
        return answer(request, use_case, Feedback(form_errors=form.errors))
    data = form.cleaned_data
    try:
        given = sign_off(use_case=use_case, stage=data["stage"], outcome=data["outcome"], note=data["note"],
                         actor=request.user)
    except (InvalidInput, Refused) as refused:
        return answer(request, use_case, Feedback(error=message_for(refused)))
    verdict = "Approved" if given.outcome == SignOffOutcome.APPROVED else "Changes requested for"
    return answer(request, use_case, Feedback(success=f"{verdict} {Stage(given.stage).label}."))


@login_required
@require_POST
def use_case_practice(request, pk):
    use_case = card_use_case(request, pk, to_change=True)
    form = PracticeForm(request.POST)
    if not form.is_valid():
        return answer(request, use_case, Feedback(form_errors=form.errors))
    data = form.cleaned_data
    try:
        record = record_practice(use_case=use_case, practice=data["practice"], status=data["status"],
                                 evidence_link=data["evidence_link"], evidence_note=data["evidence_note"],
                                 expected_version=data["expected_version"], actor=request.user)
    except (InvalidInput, StaleVersion) as refused:
        return answer(request, use_case, _refusal(refused))
    return answer(request, use_case, Feedback(
        success=f"{record.get_practice_display()}: {record.get_status_display().lower()}."))


def _refusal(refused: DomainError) -> Feedback:
    if isinstance(refused, InvalidInput):
        return Feedback(form_errors=refused.field_errors())
    return Feedback(error=message_for(refused))


def _determine(request, pk, form_class, write, success: str):
    """Read `form_class`, call `write(use_case, data)`; NotAllowed escapes as the 403 page."""
    use_case = card_use_case(request, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return answer(request, use_case, Feedback(form_errors=form.errors))
    try:
        write(use_case, form.cleaned_data)
    except NotAllowed:
        raise
    except DomainError as refused:
        return answer(request, use_case, _refusal(refused))
    return answer(request, use_case, Feedback(success=success))


@login_required
@require_POST
def use_case_omb_determination(request, pk):
    return _determine(request, pk, OMBDeterminationForm, lambda use_case, data: determine_high_impact(
        use_case=use_case, is_high_impact=data["is_high_impact"], hi_justification=data["hi_justification"],
        expected_version=data["expected_version"], actor=request.user), "OMB determination recorded.")


@login_required
@require_POST
def use_case_eu_classification(request, pk):
    return _determine(request, pk, EUClassificationForm, lambda use_case, data: classify_eu(
        use_case=use_case, expected_version=data["expected_version"], actor=request.user,
        **{field: data[field] for field in EU_FIELDS}), "EU AI Act classification recorded.")


@login_required
@require_POST
def use_case_waiver(request, pk):
    return _determine(request, pk, WaiverForm, lambda use_case, data: grant_waiver(
        use_case=use_case, practice=data["practice"], justification=data["justification"],
        expires_on=data["expires_on"], actor=request.user), "Waiver granted; report it to OMB within 30 days.")


@login_required
@require_GET
def waivers(request):
    """The waiver register: every waived minimum practice, soonest expiry first."""
    access.require_role(request.user)
    today = timezone.localdate()
    page = Paginator(waiver_register(), PAGE_SIZE).get_page(request.GET.get("page"))
    page.rows = [(waiver, waiver_state(waiver, today)) for waiver in page]
    return render(request, "web/waivers.html", {"page": page, "today": today})
