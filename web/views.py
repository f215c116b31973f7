"""The pages. Each view: check the role (registry.access), read with a selector, write with a
service, render a template. An htmx request gets just the fragment it replaces; without
JavaScript every action is a plain form POST followed by a redirect."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRefresh, trigger_client_event
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.workers import hand_to_worker
from portfolio.services.findings import FindingChangeRefused, assign_finding, change_finding_status
from portfolio.models import ACTIVE_STATUSES, Finding, FindingStatus
from portfolio import access as portfolio_access
from portfolio.selectors import dashboard as dashboard_selectors, findings as finding_selectors
from registry import access
from registry.gates import GATES, NEXT_STAGE, MoveRefused, unmet_conditions
from registry.services.lifecycle import move_use_case
from core.errors import DomainError, InvalidInput, StaleVersion
from registry.models import VALUE_CHAIN_LAYERS, Decision, Person, Readiness, Stage, UseCase
from registry.services.decisions import confirm_decision_ownership, save_decision
from registry.services.kpis import add_kpi, record_kpi_observation
from registry.services.use_cases import confirm_use_case_ownership, edit_use_case, register_use_case, state_decision

from . import charts, selectors
from .errors import STALE_MESSAGE, add_to_form
from .forms import (
    AssignForm,
    DashboardFilterForm,
    DecisionForm,
    FindingActionForm,
    FindingFilterForm,
    ImportUploadForm,
    KPIForm,
    KPIObservationForm,
    MoveForm,
    StateDecisionForm,
    UseCaseForm,
)
from .imports import store_upload
from .models import ImportJob
from .tasks import check_uploaded_use_cases, import_uploaded_use_cases

PAGE_SIZE = 25


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _posted(request):
    """The submitted data on POST (even when empty, so a blank form is refused), else unbound."""
    return request.POST if request.method == "POST" else None


def _must(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


# Use case cards: the home page's unit of work ----------------------------------------------------


@dataclass
class Feedback:
    """What an in-place action tells the user, shown inside the card it acted on."""

    success: str = ""
    error: str = ""
    unmet: list = field(default_factory=list)
    refused_stage: str = ""
    form_errors: dict = field(default_factory=dict)

    def to_messages(self, request) -> None:
        if self.success:
            messages.success(request, self.success)
        if self.error:
            messages.error(request, self.error)
        if self.unmet:
            messages.error(request, f"Not moved to {Stage(self.refused_stage).label}. Still needed: "
                           + "; ".join(c.message for c in self.unmet) + ".")
        for name, errors in self.form_errors.items():
            for error in errors:
                messages.error(request, f"{name}: {error}" if name != "__all__" else error)


def _decorate(use_case: UseCase, user, *, today) -> UseCase:
    """Attach what a card shows and offers; no queries (everything is prefetched)."""
    use_case.days_in_stage = (today - use_case.stage_entered_on).days
    use_case.next_stage, use_case.needs = (NEXT_STAGE.get(use_case.stage), [])
    if use_case.next_stage:
        use_case.needs = unmet_conditions(use_case, use_case.next_stage)
        use_case.next_stage_label = Stage(use_case.next_stage).label
    use_case.can_change = access.can_change_use_case(user, use_case)
    use_case.can_confirm = access.can_confirm_use_case_ownership(user, use_case)
    use_case.kpi_list = list(use_case.kpis.all())
    if use_case.can_change:
        use_case.move_form = MoveForm(use_case=use_case, auto_id=f"uc{use_case.pk}-move-%s")
        if use_case.kpi_list:
            use_case.kpi_form = KPIObservationForm(use_case=use_case, auto_id=f"uc{use_case.pk}-kpi-%s")
        if not use_case.decision.is_defined:
            use_case.state_form = _state_form(use_case)
    return use_case


def _state_form(use_case: UseCase, data=None) -> StateDecisionForm:
    return StateDecisionForm(data, use_case=use_case, auto_id=f"uc{use_case.pk}-decision-%s")


def _card(request, pk: int, feedback: Feedback | None = None, status: int = 200,
          state_form: StateDecisionForm | None = None) -> HttpResponse:
    use_case = selectors.use_cases_for_cards().get(pk=pk)
    _decorate(use_case, request.user, today=timezone.localdate())
    if state_form is not None:
        if getattr(use_case, "state_form", None) is not None:
            use_case.state_form = state_form  # the refused statement, with its error next to it
        else:  # it serves a decision by now: no form to show the refusal in
            feedback = Feedback(error=" ".join(e for errors in state_form.errors.values() for e in errors))
    return render(request, "web/_use_case_card.html",
                  {"uc": use_case, "feedback": feedback or Feedback(), "next": _next_url(request, reverse("web:home"))},
                  status=status)


def _answer(request, use_case: UseCase, feedback: Feedback) -> HttpResponse:
    if request.htmx:
        return _card(request, use_case.pk, feedback)
    feedback.to_messages(request)
    return redirect(_next_url(request, reverse("web:use_case", args=[use_case.pk])))


def _use_case_or_404(pk: int) -> UseCase:
    use_case = selectors.use_cases_for_cards().filter(pk=pk).first()
    if use_case is None:
        raise Http404("No such use case.")
    return use_case


# Home ------------------------------------------------------------------------------------------


@login_required
@require_GET
def home(request):
    user = request.user
    person = access.person_for_user(user)
    today = timezone.localdate()
    context = {"person": person, "today": today}
    if person is not None:
        use_cases = Paginator(selectors.home_use_case_ids(person), PAGE_SIZE).get_page(request.GET.get("page"))
        use_cases.cards = selectors.cards(use_cases)
        for use_case in use_cases.cards:
            _decorate(use_case, user, today=today)
        decisions = Paginator(selectors.home_decisions(person), PAGE_SIZE).get_page(request.GET.get("dpage"))
        for decision in decisions:
            decision.can_confirm = access.can_confirm_decision_ownership(user, decision)
            decision.can_change = access.can_change_decision(user, decision)
        context.update(
            use_cases=use_cases, decisions=decisions,
            open_findings=finding_selectors.findings_for(person, everything=False).filter(status__in=ACTIVE_STATUSES).count(),
        )
    context["can_register"] = access.can_change_decision(user, None)
    return render(request, "web/home.html", context)


# Decisions -------------------------------------------------------------------------------------


def _decision_owner_fixed(user, decision: Decision | None):
    """A business owner registers and keeps decisions as their own; the program office picks anyone."""
    if access.is_program_office(user):
        return None
    return decision.owner if decision is not None and decision.pk else access.person_for_user(user)


@login_required
@require_http_methods(["GET", "POST"])
def decision_new(request):
    _must(access.can_change_decision(request.user, None))
    owner = _decision_owner_fixed(request.user, None)
    if not access.is_program_office(request.user) and owner is None:
        messages.error(request, "Your login has no person in the directory, so you cannot own a decision yet. "
                                "Ask the program office to import you.")
        return redirect("web:home")
    initial = {"business_unit": owner.business_unit_id} if owner is not None else {}
    form = DecisionForm(_posted(request), owner_fixed=owner, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            decision = save_decision(decision=form.apply(), actor=request.user)
        except IntegrityError:
            form.add_error("statement", "This unit already has a decision with this statement.")
        else:
            messages.success(request, "Decision registered. Now register the use cases that serve it.")
            return redirect("web:decision", decision.pk)
    return render(request, "web/decision_form.html", {"form": form, "decision": None})


@login_required
@require_http_methods(["GET", "POST"])
def decision_edit(request, pk):
    decision = get_object_or_404(Decision.objects.select_related("owner", "business_unit"), pk=pk)
    _must(decision.is_defined and access.can_change_decision(request.user, decision))
    form = DecisionForm(_posted(request), instance=decision, owner_fixed=_decision_owner_fixed(request.user, decision))
    if request.method == "POST" and form.is_valid():
        try:
            save_decision(decision=form.apply(), actor=request.user, expected_version=form.cleaned_data["expected_version"])
        except StaleVersion:
            form.add_error(None, STALE_MESSAGE)
        except IntegrityError:
            form.add_error("statement", "This unit already has a decision with this statement.")
        else:
            messages.success(request, "Decision saved.")
            return redirect(_next_url(request, reverse("web:decision", args=[decision.pk])))
    return render(request, "web/decision_form.html", {"form": form, "decision": decision})


@login_required
@require_GET
def decision_detail(request, pk):
    decision = get_object_or_404(Decision.objects.select_related("owner", "business_unit"), pk=pk)
    _must(access.has_role(request.user))
    today = timezone.localdate()
    use_cases = Paginator(
        selectors.use_cases_for_cards().filter(decision=decision).order_by("title", "pk"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    for use_case in use_cases:
        use_case.decision = decision
        _decorate(use_case, request.user, today=today)
    return render(request, "web/decision_detail.html", {
        "decision": decision, "use_cases": use_cases,
        # A placeholder is no decision: nobody edits, confirms or registers use cases under it;
        # each of its use cases states its own decision (on its card).
        "can_change": decision.is_defined and access.can_change_decision(request.user, decision),
        "can_confirm": decision.is_defined and access.can_confirm_decision_ownership(request.user, decision),
        "can_add_use_case": decision.is_defined and access.can_change_use_case(request.user, None),
        "validating_needs": GATES[Stage.VALIDATING](UseCase(decision=decision)) if decision.is_defined else [],
    })


@login_required
@require_POST
def decision_confirm(request, pk):
    decision = get_object_or_404(Decision, pk=pk)
    _must(decision.is_defined and access.can_confirm_decision_ownership(request.user, decision))
    confirm_decision_ownership(decision=decision, actor=request.user)
    if request.htmx:
        decision = selectors.home_decisions(decision.owner).get(pk=pk)
        decision.can_confirm = decision.can_change = True
        return render(request, "web/_decision_row.html", {"d": decision, "confirmed": True})
    messages.success(request, f"You confirmed you own “{decision.statement}”.")
    return redirect(_next_url(request, reverse("web:decision", args=[pk])))


# Use cases -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def use_case_new(request, decision_pk):
    decision = get_object_or_404(Decision.objects.select_related("owner", "business_unit"), pk=decision_pk)
    _must(decision.is_defined and access.can_change_use_case(request.user, None))
    person = access.person_for_user(request.user)
    initial = {"business_owner_email": person.email} if person and not access.is_program_office(request.user) else {}
    form = UseCaseForm(_posted(request), initial=initial,
                       instance=UseCase(decision=decision, business_unit=decision.business_unit))
    if request.method == "POST" and form.is_valid():
        use_case = form.apply()
        use_case.decision, use_case.business_unit = decision, decision.business_unit
        if not access.can_change_use_case(request.user, use_case):
            form.add_error(None, "You can only register a use case you own (as business or technical owner) "
                                 "or that serves a decision you own.")
        else:
            try:
                register_use_case(use_case=use_case, actor=request.user,
                                  friction_points=form.cleaned_data["friction_points"])
            except IntegrityError:
                form.add_error("external_id", "Another use case already has this external id.")
            except DomainError as refused:
                add_to_form(form, refused)
            else:
                messages.success(request, "Use case registered in Proposed.")
                return redirect("web:use_case", use_case.pk)
    return render(request, "web/use_case_form.html", {"form": form, "decision": decision, "use_case": None})


@login_required
@require_http_methods(["GET", "POST"])
def use_case_edit(request, pk):
    use_case = _use_case_or_404(pk)
    _must(access.can_change_use_case(request.user, use_case))
    form = UseCaseForm(_posted(request), instance=use_case)
    if request.method == "POST" and form.is_valid():
        edited = form.apply()
        if not access.can_change_use_case(request.user, edited):
            form.add_error(None, "You cannot hand this use case to others and keep no role on it; "
                                 "ask the program office to reassign it.")
        else:
            try:
                edit_use_case(use_case=edited, actor=request.user, friction_points=form.cleaned_data["friction_points"],
                              expected_version=form.cleaned_data["expected_version"])
            except StaleVersion:
                form.add_error(None, STALE_MESSAGE)
            except IntegrityError:
                form.add_error("external_id", "Another use case already has this external id.")
            else:
                if request.htmx:
                    return _card(request, pk, Feedback(success="Saved."))
                messages.success(request, "Use case saved.")
                return redirect(_next_url(request, reverse("web:use_case", args=[pk])))
    template = "web/_use_case_edit_card.html" if request.htmx else "web/use_case_form.html"
    return render(request, template, {"form": form, "decision": use_case.decision, "use_case": use_case,
                                      "next": _next_url(request, "")})


@login_required
@require_GET
def use_case_card(request, pk):
    _must(access.has_role(request.user))
    _use_case_or_404(pk)
    return _card(request, pk)


@login_required
@require_POST
def use_case_move(request, pk):
    use_case = _use_case_or_404(pk)
    _must(access.can_change_use_case(request.user, use_case))
    form = MoveForm(request.POST, use_case=use_case)
    if not form.is_valid():
        return _answer(request, use_case, Feedback(form_errors=form.errors))
    to_stage = form.cleaned_data["to_stage"]
    try:
        move_use_case(use_case=use_case, to_stage=to_stage, actor=request.user, reason=form.cleaned_data["reason"],
                      expected_version=form.cleaned_data["expected_version"])
    except MoveRefused as refused:
        return _answer(request, use_case, Feedback(unmet=refused.unmet, refused_stage=to_stage))
    except StaleVersion:
        return _answer(request, use_case, Feedback(error=STALE_MESSAGE))
    return _answer(request, use_case, Feedback(success=f"Moved to {Stage(to_stage).label}."))


@login_required
@require_POST
def use_case_confirm(request, pk):
    use_case = _use_case_or_404(pk)
    _must(access.can_confirm_use_case_ownership(request.user, use_case))
    confirm_use_case_ownership(use_case=use_case, actor=request.user)
    return _answer(request, use_case, Feedback(success="Ownership confirmed."))


@login_required
@require_POST
def kpi_observation_new(request, pk):
    use_case = _use_case_or_404(pk)
    _must(access.can_record_kpi(request.user, use_case))
    form = KPIObservationForm(request.POST, use_case=use_case)
    if not form.is_valid():
        return _answer(request, use_case, Feedback(form_errors=form.errors))
    kpi = form.cleaned_data["kpi"]
    record_kpi_observation(kpi=kpi, observed_on=form.cleaned_data["observed_on"], value=form.cleaned_data["value"],
                           actor=request.user)
    return _answer(request, use_case, Feedback(
        success=f"Recorded {kpi.name} = {form.cleaned_data['value']} on {form.cleaned_data['observed_on'].isoformat()}."))


@login_required
@require_http_methods(["GET", "POST"])
def kpi_new(request, pk):
    use_case = _use_case_or_404(pk)
    _must(access.can_change_use_case(request.user, use_case))
    form = KPIForm(_posted(request), use_case=use_case)
    if request.method == "POST" and form.is_valid():
        kpi = form.save(commit=False)
        try:
            add_kpi(kpi=kpi, actor=request.user)
        except DomainError as refused:
            add_to_form(form, refused)
        except IntegrityError:
            form.add_error("name", "This use case already has a KPI with that name.")
        else:
            messages.success(request, f"KPI “{kpi.name}” added.")
            return redirect("web:use_case", pk)
    return render(request, "web/kpi_form.html", {"form": form, "use_case": use_case})


@login_required
@require_POST
def use_case_state_decision(request, pk):
    """State the decision of a use case that sits under an imported inventory's placeholder."""
    use_case = _use_case_or_404(pk)
    _must(access.can_change_use_case(request.user, use_case))
    form = _state_form(use_case, request.POST)
    if form.is_valid():
        try:
            state_decision(use_case=use_case, statement=form.cleaned_data["statement"],
                           frequency=form.cleaned_data["frequency"], actor=request.user,
                           expected_version=form.cleaned_data["expected_version"])
        except StaleVersion:
            return _answer(request, use_case, Feedback(error=STALE_MESSAGE))
        except InvalidInput as refused:
            form.add_error("statement", refused.message)
        else:
            response = _answer(request, use_case, Feedback(success="Decision stated. The use case now serves it."))
            if request.htmx:  # the home page's decision list and counts follow (home.html listens)
                trigger_client_event(response, "decisionStated", after="swap")
            return response
    if request.htmx:
        return _card(request, pk, state_form=form)
    return _use_case_page(request, pk, state_form=form)


@login_required
@require_GET
def use_case_detail(request, pk):
    return _use_case_page(request, pk)


def _use_case_page(request, pk, *, state_form: StateDecisionForm | None = None) -> HttpResponse:
    _must(access.has_role(request.user))
    try:
        use_case = selectors.use_case_page(pk)
    except UseCase.DoesNotExist:
        raise Http404("No such use case.") from None
    today = timezone.localdate()
    _decorate(use_case, request.user, today=today)
    feedback = Feedback()
    if state_form is not None:
        if getattr(use_case, "state_form", None) is not None:
            use_case.state_form = state_form
        else:
            feedback.error = " ".join(e for errors in state_form.errors.values() for e in errors)
    gates = []
    for stage in (Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION):
        gates.append((Stage(stage).label, GATES[stage](use_case), stage == use_case.next_stage))
    timeline = []
    transitions = list(use_case.transitions.all())
    for index, transition in enumerate(transitions):
        until = transitions[index + 1].occurred_at if index + 1 < len(transitions) else None
        end_day = timezone.localdate(until) if until else today
        timeline.append((transition, (end_day - timezone.localdate(transition.occurred_at)).days, until is None))
    kpis = []
    for kpi in use_case.kpi_list:
        observations = [(o.observed_on, o.value) for o in kpi.observations.all()]
        kpis.append((kpi, charts.kpi_chart(name=kpi.name, unit=kpi.unit, baseline=kpi.baseline, target=kpi.target,
                                           observations=observations), observations[-10:][::-1]))
    readiness = [(layer, use_case.readiness(layer), Readiness(use_case.readiness(layer)).label,
                  [lv.value for lv in Readiness].index(use_case.readiness(layer))) for layer in VALUE_CHAIN_LAYERS]
    return render(request, "web/use_case_detail.html", {
        "uc": use_case, "gates": gates, "timeline": timeline, "kpis": kpis, "readiness": readiness,
        "history": selectors.use_case_history(use_case), "feedback": feedback,
        "stages": [Stage(s).label for s in selectors.STAGE_ORDER],
    })


# Findings --------------------------------------------------------------------------------------


def _finding_scope(user):
    everything = access.is_program_office(user) or access.is_auditor(user)
    return finding_selectors.findings_for(access.person_for_user(user), everything=everything)


@login_required
@require_GET
def findings_inbox(request):
    _must(access.has_role(request.user))
    form = FindingFilterForm(request.GET or None)
    findings = _finding_scope(request.user)
    filters = {"status": "active"}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {"kind": data["kind"], "unit": data["unit"], "status": data["status"]}
        if data["owner"]:
            owner = Person.objects.filter(email=data["owner"].strip().lower()).first()
            filters.update(owner=owner, owner_unknown=owner is None)
    elif not form.is_bound:
        form = FindingFilterForm(initial={"status": "active"})
    else:
        findings = findings.none()
    findings = finding_selectors.filter_findings(findings, **filters)
    page = Paginator(finding_selectors.finding_ids_in_inbox_order(findings), PAGE_SIZE).get_page(request.GET.get("page"))
    page.rows = list(finding_selectors.findings_page_rows(Finding.objects.filter(pk__in=list(page))))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/findings.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "can_answer": not access.is_auditor(request.user) and (
            access.is_program_office(request.user) or access.is_business_owner(request.user)),
        "can_assign": portfolio_access.can_assign_findings(request.user),
        "next": request.get_full_path(),
    })


def _finding_answer(request, finding_pk: int, *, success="", error="") -> HttpResponse:
    if request.htmx:
        finding = finding_selectors.findings_page_rows(Finding.objects.filter(pk=finding_pk)).get()
        return render(request, "web/_finding.html", {
            "f": finding, "success": success, "error": error,
            "can_answer": not access.is_auditor(request.user),
            "can_assign": portfolio_access.can_assign_findings(request.user),
            "next": request.POST.get("next", ""),
        })
    if success:
        messages.success(request, success)
    if error:
        messages.error(request, error)
    return redirect(_next_url(request, reverse("web:findings")))


@login_required
@require_POST
def finding_status(request, pk):
    finding = get_object_or_404(Finding, pk=pk)
    _must(portfolio_access.can_answer_finding(request.user, finding))
    form = FindingActionForm(request.POST)
    if not form.is_valid():
        error = " ".join(e for errors in form.errors.values() for e in errors)
        return _finding_answer(request, pk, error=error)
    try:
        change_finding_status(finding=finding, to_status=form.to_status, actor=request.user,
                              reason=form.cleaned_data["reason"])
    except FindingChangeRefused as refused:
        return _finding_answer(request, pk, error=str(refused))
    return _finding_answer(request, pk, success=f"Finding {FindingStatus(form.to_status).label.lower()}.")


@login_required
@require_POST
def finding_assign(request, pk):
    finding = get_object_or_404(Finding, pk=pk)
    _must(portfolio_access.can_assign_findings(request.user))
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _finding_answer(request, pk, error=" ".join(form.errors.get("assignee", [])))
    assignee = form.cleaned_data["assignee"]
    assign_finding(finding=finding, assignee=assignee, actor=request.user)
    return _finding_answer(request, pk, success=f"Assigned to {assignee.email}." if assignee else "Unassigned.")


# Portfolio dashboard ---------------------------------------------------------------------------


def _dashboard(request):
    _must(access.can_see_portfolio(request.user))
    form = DashboardFilterForm(request.GET or None)
    unit = form.cleaned_data["unit"] if form.is_bound and form.is_valid() else None
    return form, dashboard_selectors.dashboard(unit=unit, today=timezone.localdate())


@login_required
@require_GET
def portfolio(request):
    form, board = _dashboard(request)
    stage_labels = {s: Stage(s).label for s in dashboard_selectors.STAGE_ORDER}
    funnel_chart = charts.horizontal_bars(
        [(stage_labels[s], board.funnel[s], charts.STAGE_COLOURS[s]) for s in dashboard_selectors.STAGE_ORDER],
        title="Use cases per stage",
    )
    age_chart = charts.stacked_bars(
        [(stage_labels[s], board.ages[s]) for s in dashboard_selectors.ACTIVE_STAGES],
        segments=[label for *_, label in dashboard_selectors.AGE_BUCKETS], colours=charts.AGE_COLOURS,
        title="Use cases per stage by days in that stage",
    )
    value_chart = charts.horizontal_bars(
        [(stage_labels[s], float(board.value_by_stage[s][1]), charts.STAGE_COLOURS[s]) for s in dashboard_selectors.STAGE_ORDER],
        title="Expected annual value by stage", value_format=lambda v: f"{v:,.0f}",
    )
    layer_chart = charts.horizontal_bars(
        [(layer, round(board.layer_totals[layer], 2), "#4b7bbf") for layer in VALUE_CHAIN_LAYERS],
        title="Mean readiness per value-chain layer (0 none, 3 ready)", value_format=lambda v: f"{v:.2f}",
    )
    readiness_rows = [
        (name, [(layer, scores[layer], charts.readiness_cell_style(scores[layer])) for layer in VALUE_CHAIN_LAYERS],
         lopsided, n)
        for name, scores, lopsided, n in board.readiness
    ]
    query = request.GET.urlencode()
    return render(request, "web/portfolio.html", {
        "form": form, "board": board, "stages": [(s, stage_labels[s]) for s in dashboard_selectors.STAGE_ORDER],
        "funnel_chart": funnel_chart, "age_chart": age_chart, "value_chart": value_chart, "layer_chart": layer_chart,
        "readiness_rows": readiness_rows, "layers": VALUE_CHAIN_LAYERS, "age_buckets": dashboard_selectors.AGE_BUCKETS,
        "active_stages": [(s, stage_labels[s]) for s in dashboard_selectors.ACTIVE_STAGES],
        "export_url": reverse("web:portfolio_export") + (f"?{query}" if query else ""),
        "currency": settings.LAST_MILE_CURRENCY,
        "lopsided_spread": dashboard_selectors.LOPSIDED_SPREAD,
    })


@login_required
@require_GET
def portfolio_export(request):
    """The dashboard's figures as CSV: one row per figure shown (table, row, column, value)."""
    _, board = _dashboard(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    scope = board.unit.name if board.unit else "all units"
    response["Content-Disposition"] = f'attachment; filename="portfolio-{timezone.localdate().isoformat()}.csv"'
    writer = csv.writer(response)
    writer.writerow(["table", "scope", "row", "column", "value"])
    for name, stages, total in board.funnel_by_unit:
        for stage in dashboard_selectors.STAGE_ORDER:
            writer.writerow(["stage funnel", scope, name, stage, stages[stage]])
        writer.writerow(["stage funnel", scope, name, "total", total])
    for stage in dashboard_selectors.ACTIVE_STAGES:
        for (_, _, label), n in zip(dashboard_selectors.AGE_BUCKETS, board.ages[stage]):
            writer.writerow(["time in stage", scope, stage, label, n])
    for name, scores, lopsided, n in board.readiness:
        for layer in VALUE_CHAIN_LAYERS:
            writer.writerow(["readiness (0-3)", scope, name, layer, f"{scores[layer]:.2f}"])
        writer.writerow(["readiness (0-3)", scope, name, "lopsided", "yes" if lopsided else "no"])
    for name, kinds, total in board.findings_by_kind_unit:
        for kind, _ in board.findings_kinds:
            writer.writerow(["open findings", scope, name, kind, kinds.get(kind, 0)])
    for stage in dashboard_selectors.STAGE_ORDER:
        n, total = board.value_by_stage[stage]
        writer.writerow(["expected annual value", scope, stage, "use cases with a value", n])
        writer.writerow(["expected annual value", scope, stage, "total", f"{total:.2f}"])
    return response


# Import ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    _must(access.can_import(request.user))
    form = ImportUploadForm(_posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = store_upload(filename=upload.name, content=upload.read(), actor=request.user)
        transaction.on_commit(lambda: hand_to_worker(check_uploaded_use_cases, job.pk))
        return redirect("web:import_job", job.pk)
    recent = ImportJob.objects.select_related("uploaded_by").defer("content")[:10]
    return render(request, "web/import_upload.html", {"form": form, "recent": recent})


@login_required
@require_http_methods(["GET", "POST"])
def import_job(request, pk):
    _must(access.can_import(request.user))
    job = get_object_or_404(ImportJob.objects.defer("content"), pk=pk)
    if request.method == "POST":
        if job.status != ImportJob.Status.CHECKED:
            messages.error(request, "This upload cannot be imported (it has errors or was imported already).")
            return redirect("web:import_job", pk)
        updated = ImportJob.objects.filter(pk=pk, status=ImportJob.Status.CHECKED).update(
            status=ImportJob.Status.QUEUED, phase="waiting for a worker")
        if updated:
            transaction.on_commit(lambda: hand_to_worker(import_uploaded_use_cases, pk))
        return redirect("web:import_job", pk)
    if request.htmx and job.status in (ImportJob.Status.INVALID, ImportJob.Status.CHECKED):
        return HttpResponseClientRefresh()  # the check is over: show its report on the whole page
    template = "web/_import_progress.html" if request.htmx else "web/import_job.html"
    return render(request, template, {"job": job})
