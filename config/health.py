"""Liveness and readiness for load balancers and orchestrators."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _broker_state() -> str:
    if celery_app.conf.task_always_eager:
        return "in-process (no broker configured)"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any transport error means the same to the caller: unreachable
        return f"unreachable: {exc.__class__.__name__}"
    return "ok"


@never_cache
@require_GET
def readyz(request):
    """Ready when the database answers; the broker's state is reported, not required."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:
        database = f"unreachable: {exc.__class__.__name__}"
    ready = database == "ok"
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "database": database, "broker": _broker_state()},
        status=200 if ready else 503,
    )
