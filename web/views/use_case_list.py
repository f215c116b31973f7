"""The use case list: search, filter and sort the inventory, open a use case, export what
the filter holds as CSV or XLSX."""

from __future__ import annotations

import csv
import datetime
import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from core.paging import page_number
from core.spreadsheet import EscapingWriter, escape_cell
from portfolio.selectors.use_case_list import (
    EXPORT_COLUMNS,
    UseCaseCriteria,
    paged_use_case_list,
    use_case_list,
)
from registry import access
from registry.models import Stage

from ..forms import UseCaseListForm

PAGE_SIZE = 50
EXPORT_CHUNK = 2000
# Query parameters that are not the filter's: the page number and nothing else.
NOT_FILTER = ("page",)


def _criteria(request) -> tuple[UseCaseListForm, UseCaseCriteria]:
    access.require_role(request.user)
    form = UseCaseListForm(request.GET)
    return form, UseCaseCriteria(**form.criteria_values())


def _listed(request):
    form, criteria = _criteria(request)
    return form, use_case_list(request.user, criteria)


def _filter_query(request) -> str:
    query = request.GET.copy()
    for name in NOT_FILTER:
        query.pop(name, None)
    return query.urlencode()


@login_required
@require_GET
def use_case_list_page(request):
    form, criteria = _criteria(request)
    if form.errors:
        messages.error(request, "Left out of the filter: " + " ".join(
            f"{form.fields[name].label or name}: {' '.join(errors)}" for name, errors in form.errors.items()))
    rows, total, number = paged_use_case_list(request.user, criteria, page_number(request.GET.get("page")), PAGE_SIZE)
    page = Paginator(range(total), PAGE_SIZE).page(number)  # the pager's arithmetic; the rows are fetched
    page.object_list = rows
    stage_labels = dict(Stage.choices)
    for row in page:
        row["stage_label"] = stage_labels.get(row["stage"], row["stage"])
    query = _filter_query(request)
    suffix = f"?{query}" if query else ""
    return render(request, "web/use_case_list.html", {
        "form": form, "page": page, "query": query,
        "csv_url": reverse("web:use_case_export_csv") + suffix,
        "xlsx_url": reverse("web:use_case_export_xlsx") + suffix,
    })


def _cell(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return "" if value is None else value


def _export_rows(rows):
    keys = [key for _, key in EXPORT_COLUMNS]
    for row in rows.iterator(chunk_size=EXPORT_CHUNK):
        yield [_cell(row[key]) for key in keys]


class _Echo:
    """A file whose write returns the line, so csv.writer feeds a streamed response."""

    def write(self, value):
        return value


@login_required
@require_GET
def use_case_export(request, file_format: str):
    """Every row the list's filter holds (not only the page), read in chunks as flat rows:
    CSV streamed as it is read; XLSX written row by row to a temporary file, then sent."""
    _, rows = _listed(request)
    name = f"use-cases-{timezone.localdate().isoformat()}"
    header = [column for column, _ in EXPORT_COLUMNS]
    if file_format == "csv":
        writer = EscapingWriter(csv.writer(_Echo()))

        def lines():
            yield writer.writerow(header)
            for row in _export_rows(rows):
                yield writer.writerow(row)

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Use cases")
    sheet.append(header)
    for row in _export_rows(rows):
        sheet.append([escape_cell(value) for value in row])
    spooled = tempfile.TemporaryFile()
    workbook.save(spooled)
    spooled.seek(0)
    return FileResponse(spooled, as_attachment=True, filename=f"{name}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
