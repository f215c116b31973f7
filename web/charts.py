"""SVG charts drawn on the server: no JavaScript, readable without colour (every bar is labelled
with its number) and described for screen readers (role="img", a <title> and a table beside)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

STAGE_COLOURS = {
    "proposed": "#8a94a6", "validating": "#4b7bbf", "pilot": "#c9842b", "production": "#2f8a57", "retired": "#6b6b6b",
    "unreported": "#c4c9d2",
}
AGE_COLOURS = ["#cfe3f7", "#8fbbe6", "#e6a04a", "#b5471f"]


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def horizontal_bars(rows: list[tuple[str, float, str]], *, title: str, value_format=str, label_width=120,
                    width=560, links: list[str | None] | None = None) -> SafeString:
    """One bar a row: (label, value, colour); with `links`, each row's bar and label link there."""
    bar_height, gap = 24, 8
    height = max(1, len(rows)) * (bar_height + gap) + gap
    top = max([value for _, value, _ in rows] + [1])
    room = width - label_width - 80
    body = []
    for index, (label, value, colour) in enumerate(rows):
        y = gap + index * (bar_height + gap)
        length = room * float(value) / float(top) if top else 0
        bar = (
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" class="label">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{max(length, 1):.1f}" height="{bar_height}" fill="{colour}" rx="3"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + bar_height * 0.7:.1f}" class="value">{escape(value_format(value))}</text>'
        )
        link = links[index] if links else None
        body.append(f'<a href="{escape(link)}">{bar}</a>' if link else bar)
    described = f"{title}: " + ", ".join(f"{label} {value_format(value)}" for label, value, _ in rows)
    return _svg(width, height, described, body)


def stacked_bars(rows: list[tuple[str, list[int]]], *, segments: list[str], colours: list[str], title: str,
                 label_width=120, width=560, links: list[list[str | None]] | None = None) -> SafeString:
    """One stacked bar a row, scaled to the largest total; a legend underneath. With `links`
    (per row, per segment), each segment links there."""
    bar_height, gap = 24, 8
    legend_height = 28
    height = max(1, len(rows)) * (bar_height + gap) + gap + legend_height
    top = max([sum(values) for _, values in rows] + [1])
    room = width - label_width - 60
    body = []
    for index, (label, values) in enumerate(rows):
        y = gap + index * (bar_height + gap)
        x = float(label_width)
        body.append(f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" class="label">{escape(label)}</text>')
        for position, (segment, value, colour) in enumerate(zip(segments, values, colours)):
            if not value:
                continue
            length = room * value / top
            rect = (f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar_height}" fill="{colour}">'
                    f"<title>{escape(label)}, {escape(segment)}: {value}</title></rect>")
            link = links[index][position] if links else None
            body.append(f'<a href="{escape(link)}">{rect}</a>' if link else rect)
            x += length
        body.append(f'<text x="{x + 6:.1f}" y="{y + bar_height * 0.7:.1f}" class="value">{sum(values)}</text>')
    y = height - legend_height + 8
    x = 8.0
    for segment, colour in zip(segments, colours):
        body.append(f'<rect x="{x:.0f}" y="{y}" width="12" height="12" fill="{colour}"/>'
                    f'<text x="{x + 16:.0f}" y="{y + 11}" class="legend">{escape(segment)}</text>')
        x += 16 + 7 * len(segment) + 18
    return _svg(width, height, title, body)


def kpi_chart(*, name: str, unit: str, baseline: Decimal | None, target: Decimal | None,
              observations: list[tuple[datetime.date, Decimal]], width=560, height=220) -> SafeString:
    """Observations as a line over time, baseline and target as labelled horizontal lines."""
    title = f"{name}: " + (
        f"{len(observations)} observations" if observations else "no observations yet"
    ) + (f", baseline {baseline}" if baseline is not None else "") + (f", target {target}" if target is not None else "")
    left, right, top_pad, bottom = 56, 90, 16, 28
    values = [float(v) for _, v in observations] + [float(x) for x in (baseline, target) if x is not None]
    if not values:
        return _svg(width, 60, title, ['<text x="8" y="34" class="label">No baseline, target or observation yet.</text>'])
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    plot_w, plot_h = width - left - right, height - top_pad - bottom

    def y_of(value: float) -> float:
        return top_pad + plot_h * (1 - (value - low) / (high - low))

    days = [d for d, _ in observations]
    first, last = (min(days), max(days)) if days else (None, None)
    span = max((last - first).days, 1) if days else 1

    def x_of(day: datetime.date) -> float:
        return left + (plot_w * (day - first).days / span if len(days) > 1 else plot_w / 2)

    body = [
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" class="axis"/>',
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" class="axis"/>',
        f'<text x="{left - 6}" y="{y_of(high - pad) + 4:.1f}" text-anchor="end" class="tick">{_number(high - pad)}</text>',
        f'<text x="{left - 6}" y="{y_of(low + pad) + 4:.1f}" text-anchor="end" class="tick">{_number(low + pad)}</text>',
    ]
    for label, value, css in (("baseline", baseline, "baseline"), ("target", target, "target")):
        if value is None:
            continue
        y = y_of(float(value))
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="{css}"/>'
                    f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" class="{css}-label">{label} {_number(float(value))}</text>')
    if observations:
        points = " ".join(f"{x_of(d):.1f},{y_of(float(v)):.1f}" for d, v in observations)
        body.append(f'<polyline points="{points}" class="series"/>')
        for day, value in observations:
            body.append(f'<circle cx="{x_of(day):.1f}" cy="{y_of(float(value)):.1f}" r="3.5" class="point">'
                        f"<title>{day.isoformat()}: {value}</title></circle>")
        body.append(f'<text x="{left}" y="{height - 8}" class="tick">{first.isoformat()}</text>')
        if len(days) > 1:
            body.append(f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="tick">{last.isoformat()}</text>')
    return _svg(width, height, title, body)


def readiness_cell_style(score: float) -> str:
    """Background for a 0–3 readiness score: red (none) to green (ready), text stays dark."""
    palette = ["#f4c7c3", "#fbe3b8", "#dcefc4", "#a9dbb5"]
    return palette[min(3, max(0, round(score)))]


def _number(value: float) -> str:
    return format_html("{}", f"{value:,.4g}" if abs(value) < 10000 else f"{value:,.0f}")
