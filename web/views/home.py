"""The signed-in user's home: their use cases as cards, their decisions, their open findings."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portfolio.models import ACTIVE_STATUSES, Finding
from portfolio.selectors import findings as finding_selectors
from registry import access
from registry.selectors.determinations import waiting_for

from .. import selectors
from .common import PAGE_SIZE, decorate


# "Assigned to you" lists the most severe few; the inbox filtered to them has the rest.
ASSIGNED_SHOWN = 10


@login_required
@require_GET
def home(request):
    user = request.user
    if access.is_auditor(user) and not (access.is_writer(user) or access.is_chief_ai_officer(user)
                                        or access.is_approver(user)):
        # Auditors land on the audit log: nothing here is theirs to work on.
        return redirect("web:audit_log")
    person = access.person_for_user(user)
    today = timezone.localdate()
    context = {"person": person, "today": today}
    if person is not None:
        use_cases = Paginator(selectors.home_use_case_ids(person), PAGE_SIZE).get_page(request.GET.get("page"))
        use_cases.cards = selectors.cards(use_cases)
        for use_case in use_cases.cards:
            decorate(use_case, user, today=today)
        decisions = Paginator(selectors.home_decisions(person), PAGE_SIZE).get_page(request.GET.get("dpage"))
        for decision in decisions:
            offer = access.offer_decision(user, decision)
            decision.can_confirm, decision.can_change = offer.confirm, offer.change
        assigned = finding_selectors.assigned_to(person)
        context.update(
            use_cases=use_cases, decisions=decisions, pending_sign_offs=selectors.pending_sign_offs(person),
            open_findings=Finding.objects.filter(finding_selectors.about_what_they_own(person),
                                                 status__in=ACTIVE_STATUSES).count(),
            assigned_count=assigned.count(), assigned_shown=list(assigned[:ASSIGNED_SHOWN]),
        )
    context["can_register"] = access.reach(user).register
    context["waiting_for_me"] = waiting_for(user)
    return render(request, "web/home.html", context)


