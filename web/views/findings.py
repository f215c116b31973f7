"""The findings inbox, one finding's page, and answering or assigning one finding."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.text import normalise_email
from portfolio import access as portfolio_access
from portfolio.evidence import present
from portfolio.models import Finding, FindingStatus
from portfolio.selectors import findings as finding_selectors
from portfolio.services.findings import assign_finding, change_finding_status
from registry import access
from registry.models import Person

from ..errors import form_error_text, message_for
from ..forms import AssignForm, FindingActionForm, FindingFilterForm
from .common import PAGE_SIZE, next_url


def _finding_scope(user):
    return finding_selectors.visible_to(user)


@login_required
@require_GET
def findings_inbox(request):
    access.require_role(request.user)
    form = FindingFilterForm(request.GET or None)
    findings = _finding_scope(request.user)
    filters, order = {"status": "active"}, "newest"
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        order = data["order"] or "newest"
        filters = {"kind": data["kind"], "unit": data["unit"], "status": data["status"]}
        if data["owner"]:
            owner = Person.objects.filter(email=normalise_email(data["owner"])).first()
            filters.update(owner=owner, owner_unknown=owner is None)
    elif not form.is_bound:
        form = FindingFilterForm(initial={"status": "active"})
    else:
        findings = findings.none()
    findings = finding_selectors.filter_findings(findings, **filters)
    page = Paginator(finding_selectors.finding_ids_in_inbox_order(findings, order), PAGE_SIZE).get_page(
        request.GET.get("page"))
    page.rows = list(finding_selectors.findings_page_rows(Finding.objects.filter(pk__in=list(page)), order))
    query = request.GET.copy()
    query.pop("page", None)
    offer = portfolio_access.offer_findings(request.user)
    return render(request, "web/findings.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "can_answer": offer.answer, "can_assign": offer.assign,
        "next": request.get_full_path(),
    })


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
        "can_answer": offer.answer, "can_assign": offer.assign,
        "on_own_page": True, "next": request.get_full_path(),
    })


def _finding_answer(request, finding_pk: int, *, success="", error="") -> HttpResponse:
    if request.htmx:
        finding = finding_selectors.findings_page_rows(Finding.objects.filter(pk=finding_pk)).get()
        offer = portfolio_access.offer_findings(request.user)
        return render(request, "web/_finding.html", {
            "f": finding, "success": success, "error": error,
            "can_answer": offer.answer, "can_assign": offer.assign,
            "next": request.POST.get("next", ""), "on_own_page": request.POST.get("on_own_page") == "1",
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


