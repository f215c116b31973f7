"""The signed-in user's home. One place, `landing`, decides which home a login lands on by its
roles: the program office (and the Chief AI Officer) a portfolio overview, an auditor the audit
log, everyone else their own work. `?view=work` opens one's own work from the overview."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.paging import page_number, page_of_ids
from portfolio.models import SEVERITY_ORDER
from portfolio.selectors import findings as finding_selectors
from portfolio.selectors import overview
from registry import access
from registry.selectors.determinations import waiting_for

from .. import selectors
from .common import PAGE_SIZE, decorate

# "Needs you" lists the most severe few; the inbox filtered to them has the rest.
NEEDING_SHOWN = 10
OVERVIEW, WORK, AUDIT_LOG = "overview", "work", "audit_log"
SEVERITIES_MOST_FIRST = SEVERITY_ORDER[::-1]


def landing(user) -> str:
    """Which home `user` lands on. The program office and the Chief AI Officer answer for the
    whole portfolio, so they land on its overview even if they also own use cases (their own
    work is one link away); an auditor with no other role lands on the audit log, nothing here
    being theirs to work on; owners, approvers and logins without a role land on their work."""
    if access.is_program_office(user) or access.is_chief_ai_officer(user):
        return OVERVIEW
    if access.is_auditor(user) and not (access.is_writer(user) or access.is_approver(user)):
        return AUDIT_LOG
    return WORK


@login_required
@require_GET
def home(request):
    user = request.user
    # The top bar's home link names the landing too (web.context_processors: nav_overview).
    view = WORK if request.GET.get("view") == WORK else landing(user)
    context = {"person": access.person_for_user(user), "today": timezone.localdate(),
               "can_register": access.reach(user).register, "waiting_for_me": waiting_for(user)}
    if view == AUDIT_LOG:
        return redirect("web:audit_log")
    if view == OVERVIEW:
        return _overview(request, context)
    return _work(request, context)


def _overview(request, context: dict):
    person = context["person"]
    context.update(changes=overview.since_last_scan(), open_by_severity=overview.open_by_severity())
    if person is not None:
        context.update(own_needing=finding_selectors.needing(person).count(),
                       own_use_cases=selectors.home_use_cases(person).count())
    return render(request, "web/home_overview.html", context)


def _work(request, context: dict):
    user, person, today = request.user, context["person"], context["today"]
    if person is not None:
        # The sort reads every one of the person's use cases anyway: counted beside the page.
        owned = selectors.home_use_cases(person)
        ids, total, number = page_of_ids(owned, page_number(request.GET.get("page")), PAGE_SIZE,
                                         count=owned.count, count_beside=True)
        use_cases = Paginator(range(total), PAGE_SIZE).page(number)  # the pager's arithmetic
        use_cases.cards = selectors.cards(ids)
        for use_case in use_cases.cards:
            decorate(use_case, user, today=today)
            _fold(use_case)
        decisions = Paginator(selectors.home_decisions(person), PAGE_SIZE).get_page(request.GET.get("dpage"))
        for decision in decisions:
            offer = access.offer_decision(user, decision)
            decision.can_confirm, decision.can_change = offer.confirm, offer.change
        findings = finding_selectors.home_findings(person, NEEDING_SHOWN)
        context.update(
            use_cases=use_cases, decisions=decisions, pending_sign_offs=selectors.pending_sign_offs(person),
            open_findings=findings.on_what_they_own, assigned_count=findings.assigned,
            needing_count=findings.needing, needing_shown=findings.needing_shown,
        )
    return render(request, "web/home.html", context)


def _fold(use_case) -> None:
    """How a card shows folded: its worst open finding's severity in the summary line. Only a
    card with a decision still to state shows open, its form in reach: the findings that need
    the owner are listed above the cards already, and a page of open cards is metres long."""
    severities = {f.severity for f in use_case.open_findings}
    use_case.worst_severity = next((s for s in SEVERITIES_MOST_FIRST if s in severities), None)
    use_case.unfolded = not use_case.decision.is_defined and use_case.in_play
