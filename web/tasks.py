"""Celery task of the pages: thin, idempotent (a finished import is not run again)."""

from celery import shared_task

from .imports import check_upload, run_import
from .models import ImportJob


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_uploaded_use_cases(job_id: int) -> int:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        run_import(job)
    return job_id


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_uploaded_use_cases(job_id: int) -> int:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        check_upload(job)
    return job_id
