"""Use cases: register one under its decision, edit it, and everything its card and page offer
in place (move, confirm ownership, record a KPI value, add a KPI, state its decision)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from core.errors import DomainError, InvalidInput
from registry import access
from registry.gates import GATES, MoveRefused, gate_rows
from registry.models import VALUE_CHAIN_LAYERS, Readiness, Stage, UseCase, ValueChainLayer
from registry.selectors.value import kpi_realised_value, total, why_no_value
from registry.services.investments import delete_investment, record_investment
from registry.services.kpis import add_kpi, record_kpi_observation
from registry.services.lifecycle import move_use_case
from portfolio.services.findings import state_decision
from registry.services.use_cases import confirm_use_case_ownership, edit_use_case, register_use_case

from .. import charts, selectors
from ..errors import add_to_form, message_for
from ..forms import InvestmentForm, KPIForm, KPIObservationForm, MoveForm, StateDecisionForm, UseCaseForm
from .determinations import determinations_section
from .common import (
    Feedback, answer, card, card_use_case, decorate, next_url, posted, record_part, show_refused_statement,
    state_form_for,
)


@login_required
@require_http_methods(["GET", "POST"])
def use_case_new(request, decision_pk):
    decision = access.access_decision(request.user, decision_pk)
    access.require(decision.is_defined and access.offer_decision(request.user, decision).attach,
                   "Use cases are registered under a stated decision, by its owner or the program office.")
    person = access.person_for_user(request.user)
    initial = {"business_owner_email": person.email} if person and not access.is_program_office(request.user) else {}
    form = UseCaseForm(posted(request), initial=initial,
                       instance=UseCase(decision=decision, business_unit=decision.business_unit))
    if request.method == "POST" and form.is_valid():
        use_case = form.apply()
        use_case.decision, use_case.business_unit = decision, decision.business_unit
        try:
            register_use_case(use_case=use_case, actor=request.user, friction_points=form.cleaned_data["friction_points"])
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
    use_case = card_use_case(request, pk, to_change=True)
    form = UseCaseForm(posted(request), instance=use_case)
    if request.method == "POST" and form.is_valid():
        try:
            edit_use_case(use_case=form.apply(), actor=request.user, friction_points=form.cleaned_data["friction_points"],
                          expected_version=form.cleaned_data["expected_version"])
        except IntegrityError:
            form.add_error("external_id", "Another use case already has this external id.")
        except DomainError as refused:
            add_to_form(form, refused)
        else:
            if request.htmx:
                return card(request, pk, Feedback(success="Saved."))
            messages.success(request, "Use case saved.")
            return redirect(next_url(request, reverse("web:use_case", args=[pk])))
    template = "web/_use_case_edit_card.html" if request.htmx else "web/use_case_form.html"
    return render(request, template, {"form": form, "decision": use_case.decision, "use_case": use_case,
                                      "next": next_url(request, "")})


@login_required
@require_GET
def use_case_card(request, pk):
    card_use_case(request, pk)
    return card(request, pk)


@login_required
@require_POST
def use_case_move(request, pk):
    use_case = card_use_case(request, pk, to_change=True)
    form = MoveForm(request.POST, use_case=use_case)
    if not form.is_valid():
        return answer(request, use_case, Feedback(form_errors=form.errors))
    to_stage = form.cleaned_data["to_stage"]
    try:
        move_use_case(use_case=use_case, to_stage=to_stage, actor=request.user, reason=form.cleaned_data["reason"],
                      expected_version=form.cleaned_data["expected_version"])
    except MoveRefused as refused:
        # Shown where the move was asked for, the typed stage and reason kept, so that whoever
        # fixes a condition through its link comes back to a form still filled in.
        feedback = Feedback(unmet=refused.unmet, refused_stage=to_stage)
        typed = {"to_stage": to_stage, "reason": form.cleaned_data["reason"]}
        if request.htmx:
            return card(request, pk, feedback, move_input=typed)
        return _use_case_page(request, pk, feedback=feedback, move_input=typed)
    except DomainError as refused:
        return answer(request, use_case, Feedback(error=message_for(refused)))
    return answer(request, use_case, Feedback(success=f"Moved to {Stage(to_stage).label}."))


@login_required
@require_POST
def use_case_confirm(request, pk):
    use_case = card_use_case(request, pk)
    confirm_use_case_ownership(use_case=use_case, actor=request.user)
    return answer(request, use_case, Feedback(success="Ownership confirmed."))


@login_required
@require_POST
def kpi_observation_new(request, pk):
    use_case = card_use_case(request, pk, to_change=True)
    form = KPIObservationForm(request.POST, use_case=use_case)
    if not form.is_valid():
        return answer(request, use_case, Feedback(form_errors=form.errors))
    kpi = form.cleaned_data["kpi"]
    try:
        record_kpi_observation(kpi=kpi, observed_on=form.cleaned_data["observed_on"], value=form.cleaned_data["value"],
                               actor=request.user)
    except InvalidInput as refused:
        return answer(request, use_case, Feedback(form_errors=refused.field_errors()))
    return answer(request, use_case, Feedback(
        success=f"Recorded {kpi.name} = {form.cleaned_data['value']} on {form.cleaned_data['observed_on'].isoformat()}."))


@login_required
@require_POST
def investment_delete(request, pk, investment_pk):
    use_case = access.access_use_case(request.user, pk)
    investment = use_case.investments.filter(pk=investment_pk).first()
    if investment is None:
        raise Http404("This use case has no such investment record.")
    delete_investment(investment=investment, actor=request.user, reason="deleted on the use case's page")
    return answer(request, use_case, Feedback(
        success=f"Deleted the {investment.get_layer_display().lower()} investment for {investment.period_start} to "
                f"{investment.period_end} (planned {investment.planned}, spent {investment.spent}); the history keeps it."))


@login_required
@require_POST
def investment_new(request, pk):
    use_case = access.access_use_case(request.user, pk)
    form = InvestmentForm(request.POST)
    if not form.is_valid():
        return answer(request, use_case, Feedback(form_errors=form.errors))
    data = form.cleaned_data
    try:
        investment = record_investment(use_case=use_case, actor=request.user, **data)
    except InvalidInput as refused:
        return answer(request, use_case, Feedback(form_errors=refused.field_errors()))
    return answer(request, use_case, Feedback(
        success=f"Recorded {investment.get_layer_display().lower()} investment for {investment.period_start} to "
                f"{investment.period_end}."))


@login_required
@require_http_methods(["GET", "POST"])
def kpi_new(request, pk):
    use_case = card_use_case(request, pk, to_change=True)
    form = KPIForm(posted(request), use_case=use_case)
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
    use_case = card_use_case(request, pk, to_change=True)
    form = state_form_for(use_case, request.POST)
    if form.is_valid():
        try:
            state_decision(use_case=use_case, statement=form.cleaned_data["statement"],
                           frequency=form.cleaned_data["frequency"], actor=request.user,
                           expected_version=form.cleaned_data["expected_version"])
        except InvalidInput as refused:
            add_to_form(form, refused)
        except DomainError as refused:
            return answer(request, use_case, Feedback(error=message_for(refused)))
        else:
            response = answer(request, use_case, Feedback(success="Decision stated. The use case now serves it."))
            if request.htmx:  # the home page's decision list and counts follow (home.html listens)
                trigger_client_event(response, "decisionStated", after="swap")
            return response
    if request.htmx:
        return card(request, pk, state_form=form)
    return _use_case_page(request, pk, state_form=form)


@login_required
@require_GET
def use_case_detail(request, pk):
    return _use_case_page(request, pk)


def _use_case_page(request, pk, *, state_form: StateDecisionForm | None = None, feedback: Feedback | None = None,
                   move_input: dict | None = None) -> HttpResponse:
    access.require_role(request.user)
    try:
        use_case = selectors.use_case_page(pk)
    except UseCase.DoesNotExist:
        raise Http404("No such use case.") from None
    today = timezone.localdate()
    decorate(use_case, request.user, today=today, move_input=move_input)
    feedback = show_refused_statement(use_case, state_form, feedback or Feedback())
    gates = []
    for stage in (Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION):
        # The next gate in full (determinations and sign-off included); the others as their own conditions.
        is_next = stage == use_case.next_stage
        gates.append((Stage(stage).label, use_case.needs if is_next else GATES[stage](use_case), is_next))
    timeline = []
    earlier = list(use_case.earlier_report.transitions.all()) if use_case.earlier_report else []
    transitions = earlier + gate_rows(use_case, "transitions")
    for index, transition in enumerate(transitions):
        until = transitions[index + 1].occurred_at if index + 1 < len(transitions) else None
        end_day = timezone.localdate(until) if until else today
        timeline.append((transition, (end_day - timezone.localdate(transition.occurred_at)).days, until is None))
    kpis = []
    for kpi in use_case.kpi_list:
        observations = [(o.observed_on, o.value) for o in kpi.observations.all()]
        kpi.realised = kpi_realised_value(kpi, kpi.last_value)
        kpi.no_value_because = why_no_value(kpi, kpi.last_value)
        kpis.append((kpi, charts.kpi_chart(name=kpi.name, unit=kpi.unit, baseline=kpi.baseline, target=kpi.target,
                                           observations=observations), observations[-10:][::-1]))
    use_case.realised_annual_value = total(kpi.realised for kpi in use_case.kpi_list)
    investment = _investment_section(use_case, request.user)
    readiness = [(layer, use_case.readiness(layer), Readiness(use_case.readiness(layer)).label,
                  [lv.value for lv in Readiness].index(use_case.readiness(layer))) for layer in VALUE_CHAIN_LAYERS]
    return render(request, "web/use_case_detail.html", {
        "uc": use_case, "gates": gates, "timeline": timeline, "kpis": kpis, "readiness": readiness,
        **record_part(request, "usecase", use_case.pk), "feedback": feedback,
        "stages": [Stage(s).label for s in selectors.STAGE_ORDER],
        "det": determinations_section(use_case, request.user, today=today), "investment": investment,
    })


def _investment_section(use_case: UseCase, user) -> dict:
    """The use case's investment rows, their totals per layer and overall, and the form to record one."""
    rows = use_case.investment_list
    totals = {layer: {"planned": 0, "spent": 0} for layer in VALUE_CHAIN_LAYERS}
    for row in rows:
        totals[row.layer]["planned"] += row.planned
        totals[row.layer]["spent"] += row.spent
    offered = access.offer_use_case(user, use_case).record_investment
    return {
        "rows": rows,
        "by_layer": [(ValueChainLayer(layer).label, totals[layer]["planned"], totals[layer]["spent"])
                     for layer in VALUE_CHAIN_LAYERS],
        "planned": sum(t["planned"] for t in totals.values()),
        "spent": sum(t["spent"] for t in totals.values()),
        "form": InvestmentForm(auto_id="investment-%s") if offered else None,
        "deletable": offered,
    }


