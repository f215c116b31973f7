"""Decisions: register one, edit it, read it with the use cases that serve it, confirm owning it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from registry import access
from registry.gates import GATES
from registry.models import Decision, Stage, UseCase
from registry.services.decisions import confirm_decision_ownership, save_decision

from .. import selectors
from ..errors import add_to_form
from ..forms import DecisionForm
from .common import PAGE_SIZE, decorate, next_url, posted, record_part

PLACEHOLDER = "A placeholder decision is not edited: each of its use cases states its own decision."


def _decision_owner_fixed(user, decision: Decision | None):
    """A business owner registers and keeps decisions as their own; the program office picks anyone."""
    if access.is_program_office(user):
        return None
    return decision.owner if decision is not None and decision.pk else access.person_for_user(user)


@login_required
@require_http_methods(["GET", "POST"])
def decision_new(request):
    access.require(access.reach(request.user).register, "Only the program office and business owners register decisions.")
    owner = _decision_owner_fixed(request.user, None)
    if not access.is_program_office(request.user) and owner is None:
        messages.error(request, "Your login has no person in the directory, so you cannot own a decision yet. "
                                "Ask the program office to import you.")
        return redirect("web:home")
    initial = {"business_unit": owner.business_unit_id} if owner is not None else {}
    form = DecisionForm(posted(request), owner_fixed=owner, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            decision = save_decision(decision=form.apply(), actor=request.user)
        except DomainError as refused:
            add_to_form(form, refused)
        except IntegrityError:
            form.add_error("statement", "This unit already has a decision with this statement.")
        else:
            messages.success(request, "Decision registered. Now register the use cases that serve it.")
            return redirect("web:decision", decision.pk)
    return render(request, "web/decision_form.html", {"form": form, "decision": None})


@login_required
@require_http_methods(["GET", "POST"])
def decision_edit(request, pk):
    decision = access.access_decision(request.user, pk, to_change=True)
    access.require(decision.is_defined, PLACEHOLDER)
    form = DecisionForm(posted(request), instance=decision, owner_fixed=_decision_owner_fixed(request.user, decision))
    if request.method == "POST" and form.is_valid():
        try:
            save_decision(decision=form.apply(), actor=request.user, expected_version=form.cleaned_data["expected_version"])
        except DomainError as refused:
            add_to_form(form, refused)
        except IntegrityError:
            form.add_error("statement", "This unit already has a decision with this statement.")
        else:
            messages.success(request, "Decision saved.")
            return redirect(next_url(request, reverse("web:decision", args=[decision.pk])))
    return render(request, "web/decision_form.html", {"form": form, "decision": decision})


@login_required
@require_GET
def decision_detail(request, pk):
    decision = access.access_decision(request.user, pk)
    today = timezone.localdate()
    use_cases = Paginator(
        selectors.use_cases_for_cards().filter(decision=decision).order_by("title", "pk"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    for use_case in use_cases:
        use_case.decision = decision
        decorate(use_case, request.user, today=today)
    offer = access.offer_decision(request.user, decision)
    return render(request, "web/decision_detail.html", {
        "decision": decision, "use_cases": use_cases, **record_part(request, "decision", decision.pk),
        # A placeholder is no decision: nobody edits, confirms or registers use cases under it;
        # each of its use cases states its own decision (on its card).
        "can_change": decision.is_defined and offer.change,
        "can_confirm": decision.is_defined and offer.confirm,
        "can_add_use_case": decision.is_defined and offer.attach,
        "validating_needs": GATES[Stage.VALIDATING](UseCase(decision=decision)) if decision.is_defined else [],
    })


@login_required
@require_POST
def decision_confirm(request, pk):
    decision = access.access_decision(request.user, pk)
    confirm_decision_ownership(decision=decision, actor=request.user)
    if request.htmx:
        decision = selectors.home_decisions(decision.owner).get(pk=pk)
        decision.can_confirm = decision.can_change = True
        return render(request, "web/_decision_row.html", {"d": decision, "confirmed": True})
    messages.success(request, f"You confirmed you own “{decision.statement}”.")
    return redirect(next_url(request, reverse("web:decision", args=[pk])))


