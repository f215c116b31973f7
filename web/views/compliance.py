"""The portfolio's compliance view and its CSV export: OMB high-impact determinations, minimum
practices, the use cases a practice still holds at the gate, and EU AI Act classes."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.spreadsheet import EscapingWriter
from registry import access
from registry.models import Stage
from registry.selectors import compliance as compliance_selectors

from .. import charts
from ..forms import ComplianceFilterForm
from .common import PAGE_SIZE

PRACTICE_STATE_COLOURS = {"done": "#2f8a57", "in_progress": "#e6a04a", "missing": "#b5471f",
                          "not_applicable": "#8a94a6", "waived": "#4b7bbf"}


def _compliance(request):
    access.require(access.reach(request.user).see_portfolio,
                   "The compliance view is the program office's and the auditors'.")
    form = ComplianceFilterForm(request.GET or None)
    filters = {}
    if form.is_bound:
        # A garbage value of one filter drops that filter only: cleaned_data keeps the valid
        # ones, and the form shows why the other was left out.
        form.is_valid()
        filters = form.cleaned_data
    figures = compliance_selectors.compliance(
        unit=filters.get("unit"), stage=filters.get("stage") or None, today=timezone.localdate())
    return form, figures


def _scope(figures) -> str:
    scope = figures.unit.name if figures.unit else "all units"
    return f"{scope}, {figures.stage} only" if figures.stage else scope


@login_required
@require_GET
def compliance(request):
    form, figures = _compliance(request)
    states = compliance_selectors.PRACTICE_STATES
    practice_charts = {
        stage: charts.stacked_bars(
            [(row.label, [row.counts[key] for key, _ in states]) for row in figures.practices[stage]],
            segments=[label for _, label in states], colours=[PRACTICE_STATE_COLOURS[key] for key, _ in states],
            title=f"Minimum practices of the high-impact use cases in {Stage(stage).label.lower()}",
            label_width=300, width=640,
        )
        for stage in figures.practice_stages
    }
    paginator = Paginator(compliance_selectors.gap_use_cases(unit=figures.unit, stage=figures.stage, today=figures.today),
                          PAGE_SIZE)
    # The figures counted them already: the paginator need not count them again.
    paginator.count = figures.gaps
    gaps = paginator.get_page(request.GET.get("page"))
    gaps.rows = [(use_case, compliance_selectors.gaps_of(use_case, figures.today)) for use_case in gaps]
    filters = request.GET.copy()
    filters.pop("page", None)
    query = filters.urlencode()
    return render(request, "web/compliance.html", {
        "form": form, "figures": figures, "gaps": gaps, "query": query,
        "practice_scope": " or ".join(Stage(s).label.lower() for s in figures.practice_stages),
        "stages": [(s, Stage(s).label) for s in compliance_selectors.STAGE_ORDER],
        "determinations": compliance_selectors.DETERMINATIONS,
        "practice_states": states,
        "practice_tables": [(s, Stage(s).label, figures.practices[s], figures.high_impact_in_stage[s],
                             figures.gaps_in_stage[s], practice_charts[s]) for s in figures.practice_stages],
        "eu_classes": compliance_selectors.EU_CLASSES, "eu_roles": compliance_selectors.EU_ROLES,
        "export_url": reverse("web:compliance_export") + (f"?{query}" if query else ""),
    })


@login_required
@require_GET
def compliance_export(request):
    """The compliance view's figures as CSV, shaped as the dashboard's: one row per figure shown
    (table, scope, row, column, value); names a spreadsheet would run as formulas are text."""
    _, figures = _compliance(request)
    scope = _scope(figures)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="compliance-{figures.today.isoformat()}.csv"'
    writer = EscapingWriter(csv.writer(response))
    writer.writerow(["table", "scope", "row", "column", "value"])
    for row in figures.determinations:
        for determination, _ in compliance_selectors.DETERMINATIONS:
            writer.writerow(["OMB determination", scope, row.name, determination, row.counts[determination]])
        writer.writerow(["OMB determination", scope, row.name, "total", row.total])
    for row in figures.high_impact:
        for stage in compliance_selectors.STAGE_ORDER:
            writer.writerow(["high-impact by stage", scope, row.name, stage, row.counts[stage]])
        writer.writerow(["high-impact by stage", scope, row.name, "total", row.total])
    for stage in figures.practice_stages:
        table = f"minimum practices in {stage}"
        for row in figures.practices[stage]:
            for state, _ in compliance_selectors.PRACTICE_STATES:
                writer.writerow([table, scope, row.practice, state, row.counts[state]])
        writer.writerow([table, scope, "high-impact use cases", "total", figures.high_impact_in_stage[stage]])
        writer.writerow([table, scope, "high-impact use cases", "with a gap", figures.gaps_in_stage[stage]])
    for table, rows, columns in (("EU risk class", figures.eu_classes, compliance_selectors.EU_CLASSES),
                                 ("EU operator role", figures.eu_roles, compliance_selectors.EU_ROLES)):
        for row in rows:
            for column, *_ in columns:
                writer.writerow([table, scope, row.name, column, row.counts[column]])
            writer.writerow([table, scope, row.name, "total", row.total])
    return response
