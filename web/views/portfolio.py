"""The portfolio dashboard and its CSV export."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.spreadsheet import EscapingWriter
from portfolio.selectors import dashboard as dashboard_selectors
from registry import access
from registry.models import VALUE_CHAIN_LAYERS, Stage

from .. import charts
from ..forms import DashboardFilterForm


def _dashboard(request):
    access.require(access.reach(request.user).see_portfolio, "The portfolio dashboard is the program office's and the auditors'.")
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
        (name, [(layer, scores[layer], charts.readiness_cell_style(scores[layer]),
                 board.spend_shares[name][layer] if name in board.spend_shares else None) for layer in VALUE_CHAIN_LAYERS],
         lopsided, n, board.lopsided_investment.get(name))
        for name, scores, lopsided, n in board.readiness
    ]
    if board.readiness:
        portfolio_shares = board.spend_shares.get(None)
        readiness_rows.append((
            "All units" if board.unit is None else f"All of {board.unit.name}",
            [(layer, board.layer_totals[layer], charts.readiness_cell_style(board.layer_totals[layer]),
              portfolio_shares[layer] if portfolio_shares else None) for layer in VALUE_CHAIN_LAYERS],
            None, sum(n for *_, n in board.readiness), None))
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
    """The dashboard's figures as CSV: one row per figure shown (table, row, column, value).

    A unit name a spreadsheet would run as a formula is written as text (core.spreadsheet).
    """
    _, board = _dashboard(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    scope = board.unit.name if board.unit else "all units"
    response["Content-Disposition"] = f'attachment; filename="portfolio-{timezone.localdate().isoformat()}.csv"'
    writer = EscapingWriter(csv.writer(response))
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
    for name, shares in sorted(board.spend_shares.items(), key=lambda item: (item[0] is None, (item[0] or "").lower())):
        for layer in VALUE_CHAIN_LAYERS:
            writer.writerow(["share of spending", scope, name or "all units", layer, f"{shares[layer]:.4f}"])
    for name, kinds, total in board.findings_by_kind_unit:
        for kind, _ in board.findings_kinds:
            writer.writerow(["open findings", scope, name, kind, kinds.get(kind, 0)])
    for kind, _, n, total in board.priced_findings:
        writer.writerow(["price of open findings", scope, kind, "priced findings", n])
        writer.writerow(["price of open findings", scope, kind, "total", f"{total:.2f}"])
    for stage in dashboard_selectors.STAGE_ORDER:
        n, total = board.value_by_stage[stage]
        writer.writerow(["expected annual value", scope, stage, "use cases with a value", n])
        writer.writerow(["expected annual value", scope, stage, "total", f"{total:.2f}"])
    return response


