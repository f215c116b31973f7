"""Where value leaks: from expected to realised value, the leaks by cause, unit and layer, and its CSV."""

from __future__ import annotations

import csv
from functools import partial
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.spreadsheet import EscapingWriter
from portfolio.selectors.value import CAUSE_LABELS, CAUSES, NOT_ON_A_LAYER, value_leaks
from registry import access
from registry.models import VALUE_CHAIN_LAYERS, ValueChainLayer

from .. import charts
from ..forms import DashboardFilterForm

CAUSE_COLOURS = {"stalled": "#c0392b", "duplicated": "#d68910", "not_realised": "#8e44ad", "unowned": "#2c3e50",
                 "unmeasured": "#7f8c8d"}


def _figures(request):
    access.require(access.reach(request.user).see_portfolio,
                   "Where value leaks is the program office's and the auditors' view of the portfolio.")
    form = DashboardFilterForm(request.GET or None)
    unit = form.cleaned_data["unit"] if form.is_bound and form.is_valid() else None
    return form, value_leaks(unit=unit)


def _compact(amount: float, currency: str) -> str:
    """A chart's value label short enough to fit beside its bar: 43,960,000 → "44.0 M EUR"."""
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(amount) >= size:
            return f"{amount / size:,.1f} {suffix} {currency}"
    return f"{amount:,.0f} {currency}"


def _amount(value) -> str:
    return "" if value is None else f"{value:.2f}"


def findings_behind(cause: str, unit=None, layer: str = "") -> str:
    """The inbox filtered to the open findings behind a leak (of a unit, on a layer), costliest first."""
    query = {"kind": CAUSES[cause], "status": "active", "order": "price"}
    if unit is not None:
        query["unit"] = unit.pk
    if layer:
        query["layer"] = layer
    return f"{reverse('web:findings')}?{urlencode(query)}"


@login_required
@require_GET
def value(request):
    form, figures = _figures(request)
    money = partial(_compact, currency=figures.currency)  # the charts' value labels
    flow_chart = charts.horizontal_bars(
        [("Expected", float(figures.expected or 0), "#4b7bbf"), ("Realised", float(figures.realised or 0), "#1e8449"),
         ("Leaking", float(figures.leaked), "#c0392b")],
        title=f"Annual value, {figures.currency}", value_format=money,
    )
    causes = [(cause, CAUSE_LABELS[cause], figures.leaks[cause], figures.priced_findings[cause],
               findings_behind(cause, figures.unit)) for cause in CAUSES]
    leak_chart = charts.horizontal_bars(
        [(label, float(amount or 0), CAUSE_COLOURS[cause]) for cause, label, amount, _, _ in causes],
        title=f"Leaks by cause, {figures.currency}", value_format=money, links=[link for *_, link in causes],
    )
    unit_chart = charts.stacked_bars(
        [(unit.name, [int(round(amounts[cause] / 1000)) for cause in CAUSES]) for unit, amounts in figures.by_unit],
        segments=[CAUSE_LABELS[cause] for cause in CAUSES], colours=[CAUSE_COLOURS[cause] for cause in CAUSES],
        title=f"Leaks by unit and cause, thousands of {figures.currency}", label_width=180,
    ) if figures.by_unit else None
    layers = [(ValueChainLayer(layer).label, *figures.investment[layer]) for layer in VALUE_CHAIN_LAYERS]
    layer_chart = charts.horizontal_bars(
        [(label, float(spent), "#4b7bbf") for label, _, spent in layers],
        title=f"Investment spent per value-chain layer, {figures.currency}", value_format=money,
    )
    leak_layers = [(ValueChainLayer(layer).label, [figures.by_layer[cause][layer] for cause in CAUSES],
                    [findings_behind(cause, figures.unit, layer) for cause in CAUSES]) for layer in VALUE_CHAIN_LAYERS]
    not_on_a_layer = [figures.by_layer[cause][NOT_ON_A_LAYER] for cause in CAUSES]
    leak_layer_chart = charts.stacked_bars(
        [(label, [int(round(amount / 1000)) for amount in amounts]) for label, amounts, _ in leak_layers],
        segments=[CAUSE_LABELS[cause] for cause in CAUSES], colours=[CAUSE_COLOURS[cause] for cause in CAUSES],
        title=f"Leaks by value-chain layer and cause, thousands of {figures.currency}",
        links=[links for *_, links in leak_layers],
    ) if figures.leaked else None
    query = request.GET.urlencode()
    return render(request, "web/value.html", {
        "form": form, "figures": figures, "causes": causes, "flow_chart": flow_chart, "leak_chart": leak_chart,
        "unit_chart": unit_chart, "layer_chart": layer_chart, "layers": layers,
        "leak_layer_chart": leak_layer_chart,
        "leak_layers": [(label, amounts, sum(amounts), links) for label, amounts, links in leak_layers],
        "not_on_a_layer": (not_on_a_layer, sum(not_on_a_layer)) if any(not_on_a_layer) else None,
        "cause_labels": [CAUSE_LABELS[cause] for cause in CAUSES],
        "units": [(unit, [amounts[cause] for cause in CAUSES], sum(amounts.values()),
                   [findings_behind(cause, unit) for cause in CAUSES]) for unit, amounts in figures.by_unit],
        "export_url": reverse("web:value_export") + (f"?{query}" if query else ""),
    })


@login_required
@require_GET
def value_export(request):
    """The page's figures as CSV: one row per figure (table, scope, row, column, value); amounts
    in the registry's currency with two decimals, blank where unknown."""
    _, figures = _figures(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="value-leaks-{timezone.localdate().isoformat()}.csv"'
    writer = EscapingWriter(csv.writer(response))
    scope = figures.unit.name if figures.unit else "all units"
    writer.writerow(["table", "scope", "row", "column", "value"])
    writer.writerow(["annual value", scope, "expected", figures.currency, _amount(figures.expected)])
    writer.writerow(["annual value", scope, "realised", figures.currency, _amount(figures.realised)])
    for cause in CAUSES:
        writer.writerow(["leaks", scope, cause, figures.currency, _amount(figures.leaks[cause])])
        writer.writerow(["leaks", scope, cause, "priced findings", figures.priced_findings[cause]])
    for unit, amounts in figures.by_unit:
        for cause in CAUSES:
            writer.writerow(["leaks by unit", scope, unit.name, cause, _amount(amounts[cause])])
    for layer in [*VALUE_CHAIN_LAYERS, NOT_ON_A_LAYER]:
        for cause in CAUSES:
            writer.writerow(["leaks by layer", scope, layer, cause, _amount(figures.by_layer[cause][layer])])
    for layer in VALUE_CHAIN_LAYERS:
        planned, spent = figures.investment[layer]
        writer.writerow(["investment", scope, layer, "planned", _amount(planned)])
        writer.writerow(["investment", scope, layer, "spent", _amount(spent)])
    return response
