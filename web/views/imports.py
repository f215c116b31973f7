"""Uploading an inventory file: the dry-run report, then the import with its progress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.http import HttpResponse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from registry import access
from registry.inventory.common import CHANGES_KEPT
from registry.inventory.contract import USE_CASE_COLUMNS
from registry.inventory.investments import INVESTMENT_COLUMNS

from ..forms import ImportUploadForm
from ..imports import queue_checked_import, store_upload
from ..models import ImportJob
from .common import posted

IMPORTS_ARE_THE_OFFICES = "Imports are the program office's."


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    access.require(access.reach(request.user).import_files, IMPORTS_ARE_THE_OFFICES)
    form = ImportUploadForm(posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = store_upload(filename=upload.name, content=upload.read(), actor=request.user,
                           kind=form.cleaned_data["kind"])
        return redirect("web:import_job", job.pk)
    recent = ImportJob.objects.select_related("uploaded_by").defer("content")[:10]
    return render(request, "web/import_upload.html", {"form": form, "recent": recent})


@login_required
@require_http_methods(["GET", "POST"])
def import_job(request, pk):
    access.require(access.reach(request.user).import_files, IMPORTS_ARE_THE_OFFICES)
    job = get_object_or_404(ImportJob.objects.defer("content"), pk=pk)
    if request.method == "POST":
        if job.status != ImportJob.Status.CHECKED:
            messages.error(request, "This upload cannot be imported (it has errors or was imported already).")
        else:
            queue_checked_import(job_pk=pk, actor=request.user)
        return redirect("web:import_job", pk)
    if request.htmx and job.status in (ImportJob.Status.INVALID, ImportJob.Status.CHECKED):
        return HttpResponseClientRefresh()  # the check is over: show its report on the whole page
    template = "web/_import_progress.html" if request.htmx else "web/import_job.html"
    return render(request, template, {"job": job, "changes_kept": CHANGES_KEPT})


TEMPLATE_COLUMNS = {"use-cases": USE_CASE_COLUMNS, "investments": INVESTMENT_COLUMNS}


@login_required
@require_GET
def import_template(request, kind: str):
    """An empty CSV with the columns the import reads (CONTRACT.md), to fill in."""
    access.require(access.reach(request.user).import_files, IMPORTS_ARE_THE_OFFICES)
    response = HttpResponse(",".join(TEMPLATE_COLUMNS[kind]) + "\r\n", content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response
