"""The audit log for auditors and the program office: filtered pages, streamed exports, and
the check that nothing was changed behind the application's back."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from portfolio.selectors.audit import anchored_scan_runs
from registry import access, audit
from registry.models import AuditEntry, BusinessUnit
from registry.selectors import audit as audit_selectors

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def _filtered(request):
    audit_filter, problems = audit_selectors.read_filter(request.GET)
    for problem in problems:
        messages.warning(request, f"{problem} It was left out.")
    return audit_filter, audit_selectors.entries(request.user, audit_filter)


def _before(request, queryset):
    """The keyset of `?before=ID`: the page starts after that entry."""
    pk = audit_selectors.whole_number(request.GET.get("before", ""))
    at = queryset.model.objects.filter(pk=pk).values_list("at", flat=True).first() if pk is not None else None
    return (at, pk) if at else None


@login_required
@require_GET
def audit_log(request):
    audit_filter, queryset = _filtered(request)
    rows, next_key = audit_selectors.page(queryset, before=_before(request, queryset))
    query = audit_filter.as_query()
    return render(request, "web/audit_log.html", {
        "rows": rows, "filter": audit_filter, "query": urlencode(query),
        "next_query": urlencode({**query, "before": next_key[1]}) if next_key else "",
        "first_page": "before" not in request.GET,
        "units": BusinessUnit.objects.order_by("name"), "record_types": audit_selectors.record_types(),
        "kinds": AuditEntry.Kind.choices,
        "export_csv": reverse("web:audit_export_csv") + (f"?{urlencode(query)}" if query else ""),
        "export_jsonl": reverse("web:audit_export_jsonl") + (f"?{urlencode(query)}" if query else ""),
    })


def streamed_export(queryset, file_format: str) -> StreamingHttpResponse:
    """The entries of `queryset` as a download, streamed as they are read."""
    response = StreamingHttpResponse(audit_selectors.export_lines(queryset, file_format),
                                     content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = (f'attachment; filename="audit-log-{timezone.localdate().isoformat()}'
                                       f'.{file_format}"')
    return response


@login_required
@require_GET
def audit_export(request, file_format: str):
    _, queryset = _filtered(request)
    return streamed_export(queryset, file_format)


@login_required
@require_GET
def audit_verify(request):
    """The chain's head, the anchors the scans kept, and (asked for) a check of the whole log."""
    access.access_audit_log(request.user)
    result = audit.verify() if request.GET.get("check") else None
    return render(request, "web/audit_verify.html", {
        "head": audit.chain_head(), "result": result, "anchors": anchored_scan_runs(limit=20),
    })


@login_required
@require_GET
def audit_anchor(request):
    """The chain's head as a small JSON file, to keep elsewhere and check against later."""
    access.access_audit_log(request.user)
    head = audit.chain_head()
    response = HttpResponse(json.dumps({"seq": head.seq, "chain_hash": head.chain_hash, "anchor": str(head),
                                        "taken_at": timezone.now().isoformat()}, indent=2),
                            content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="audit-anchor-{head.seq}.json"'
    return response
