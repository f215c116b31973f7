"""The findings inbox, one finding's page, and answering or assigning one finding."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.template.defaultfilters import pluralize
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.paging import page_number, page_of_ids
from core.text import normalise_email
from portfolio import access as portfolio_access
from portfolio.evidence import present
from portfolio.models import Finding, FindingStatus
from portfolio.selectors import findings as finding_selectors
from portfolio.services.findings import act_on_findings, assign_finding, change_finding_status, moves_offered
from registry import access
from registry.models import Person

from ..errors import form_error_text, message_for
from ..forms import AssignForm, FindingActionForm, FindingBulkForm, FindingFilterForm
from .common import PAGE_SIZE, next_url, record_part


def _finding_scope(user):
    return finding_selectors.visible_to(user)


def _inbox_selection(user, query: QueryDict, findings: QuerySet[Finding]) -> tuple[FindingFilterForm, QuerySet[Finding], str]:
    """The inbox's filter form for `query`, the `findings` it selects and their order. With no
    query, the active findings, most severe first."""
    form = FindingFilterForm(query or None)
    filters, order = {"status": "active"}, finding_selectors.DEFAULT_INBOX_ORDER
    if not form.is_bound:
        return FindingFilterForm(initial={"status": "active"}), finding_selectors.filter_findings(
            findings, **filters), order
    if not form.is_valid():
        return form, findings.none(), order
    data = form.cleaned_data
    order = data["order"] or order
    filters = {"kind": data["kind"], "severity": data["severity"], "unit": data["unit"], "status": data["status"],
               "layer": data["layer"]}
    for name in ("owner", "assignee"):
        if data[name]:
            person = Person.objects.filter(email=normalise_email(data[name])).first()
            filters.update({name: person, f"{name}_unknown": person is None})
    if data["mine"]:
        me = access.person_for_user(user)
        filters.update(assignee=me, assignee_unknown=me is None)
    return form, finding_selectors.filter_findings(findings, **filters), order


@login_required
@require_GET
def findings_inbox(request):
    access.require_role(request.user)
    form, findings, order = _inbox_selection(request.user, request.GET, _finding_scope(request.user))
    # An owner's findings are found through the links of everything they own, all of them
    # before the first row: counted beside the page rather than found a second time.
    ids, total, number = page_of_ids(finding_selectors.in_inbox_order(findings, order),
                                     page_number(request.GET.get("page")), PAGE_SIZE, count=findings.count,
                                     count_beside=not access.reach(request.user).sees_everything)
    page = Paginator(range(total), PAGE_SIZE).page(number)  # the pager's arithmetic
    page.rows = list(finding_selectors.findings_page_rows(Finding.objects.filter(pk__in=ids), order))
    query = request.GET.copy()
    query.pop("page", None)
    offer = portfolio_access.offer_findings(request.user)
    return render(request, "web/findings.html", {
        "form": form, "page": page, "query": query.urlencode(), "order": order,
        "can_answer": offer.answer, "can_assign": offer.assign, "bulk_form": FindingBulkForm(),
        "mine_query": _with(query, mine="on"),
        "sort_queries": {name: _with(query, order=name) for name in finding_selectors.INBOX_ORDERS},
    })


def _with(query: QueryDict, **changes) -> str:
    changed = query.copy()
    for name, value in changes.items():
        changed.pop(name, None)
        if value is not None:
            changed[name] = value
    return changed.urlencode()


BULK_DONE = {"acknowledge": "acknowledged", "assign": "assigned", "dismiss": "dismissed", "reopen": "reopened"}


@login_required
@require_POST
def findings_bulk(request):
    """The inbox's one action on many findings: those ticked, or all that match its filter."""
    access.require_role(request.user)
    form = FindingBulkForm(request.POST)
    back_query = request.POST.get("filter", "")[:2000]
    back = reverse("web:findings") + (f"?{QueryDict(back_query).urlencode()}" if back_query else "")
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect(back)
    data = form.cleaned_data
    matching = None
    if data["all_matching"]:
        # The service keeps to what the actor may see.
        filter_form, matching, _ = _inbox_selection(request.user, QueryDict(data["filter"]), Finding.objects.all())
        if filter_form.is_bound and not filter_form.is_valid():
            messages.error(request, form_error_text(filter_form))
            return redirect(back)
    try:
        outcome = act_on_findings(actor=request.user, action=data["action"], ids=None if data["all_matching"] else data["ids"],
                                  matching=matching, assignee=data["assignee"], reason=data["reason"])
    except DomainError as refused:
        messages.error(request, message_for(refused))
        return redirect(back)
    skipped = (f" {outcome.skipped:,} already {BULK_DONE[data['action']]} {pluralize(outcome.skipped, 'was,were')} left as "
               f"{pluralize(outcome.skipped, 'it,they')} {pluralize(outcome.skipped, 'was,were')}." if outcome.skipped else "")
    messages.success(request, f"{outcome.changed:,} finding{pluralize(outcome.changed)} {BULK_DONE[data['action']]}.{skipped}")
    return redirect(back)


# A finding's own page lists its use cases this many at a time, and this many of its decisions.
MEMBERS_PER_PAGE = 100
DECISIONS_SHOWN = 100


@login_required
@require_GET
def finding_detail(request, pk):
    visible = finding_selectors.findings_page_rows(_finding_scope(request.user))
    finding = portfolio_access.access_finding(request.user, pk, queryset=visible)
    page = Paginator(finding_selectors.finding_members(finding), MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    offer = portfolio_access.offer_finding(request.user, finding)
    return render(request, "web/finding_detail.html", {
        "f": finding, "members_page": page,
        "evidence": present(finding.kind, finding.detail, members=page.object_list, member_count=finding.member_count),
        "decisions": finding.decisions.order_by("statement", "id")[:DECISIONS_SHOWN],
        "can_answer": offer.answer, "can_assign": offer.assign, "actions": _actions(request.user, finding),
        "next": request.get_full_path(), "finding_history": finding_selectors.finding_history(finding),
        **record_part(request, "finding", finding.pk),
    })


def _actions(user, finding: Finding) -> list[str]:
    """The answers (FindingActionForm's actions) to offer `user` on `finding`, in the lifecycle's order."""
    action_for = {to_status: action for action, to_status in FindingActionForm.ACTIONS.items()}
    return [action_for[to_status] for to_status in moves_offered(user, finding)]


def _finding_answer(request, finding_pk: int, *, success="", error="") -> HttpResponse:
    if request.htmx:
        finding = finding_selectors.findings_page_rows(Finding.objects.filter(pk=finding_pk)).get()
        offer = portfolio_access.offer_finding(request.user, finding)
        return render(request, "web/_finding.html", {
            "f": finding, "success": success, "error": error,
            "can_answer": offer.answer, "can_assign": offer.assign, "actions": _actions(request.user, finding),
            "next": request.POST.get("next", ""),
        })
    if success:
        messages.success(request, success)
    if error:
        messages.error(request, error)
    return redirect(next_url(request, reverse("web:findings")))


@login_required
@require_POST
def finding_status(request, pk):
    finding = portfolio_access.access_finding(request.user, pk, to_answer=True)
    form = FindingActionForm(request.POST)
    if not form.is_valid():
        return _finding_answer(request, pk, error=form_error_text(form))
    try:
        change_finding_status(finding=finding, to_status=form.to_status, actor=request.user,
                              reason=form.cleaned_data["reason"])
    except DomainError as refused:
        return _finding_answer(request, pk, error=message_for(refused))
    return _finding_answer(request, pk, success=f"Finding {FindingStatus(form.to_status).label.lower()}.")


@login_required
@require_POST
def finding_assign(request, pk):
    finding = portfolio_access.access_finding(request.user, pk, to_assign=True)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _finding_answer(request, pk, error=" ".join(form.errors.get("assignee", [])))
    assignee = form.cleaned_data["assignee"]
    try:
        assign_finding(finding=finding, assignee=assignee, actor=request.user)
    except DomainError as refused:
        return _finding_answer(request, pk, error=message_for(refused))
    return _finding_answer(request, pk, success=f"Assigned to {assignee.email}." if assignee else "Unassigned.")


