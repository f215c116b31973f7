"""Domain refusals as HTTP answers, so no refusal becomes a 500.

StaleVersion → 412, MoveRefused → 409 with the unmet conditions, BrokerUnavailable → 503,
a scan already running → 409, a finding change the lifecycle refuses → 409, Django's
ValidationError and unique-constraint IntegrityErrors → 400 naming the field.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portfolio.services.findings import FindingChangeRefused
from portfolio.services.scans import BrokerUnavailable, ScanAlreadyRunning
from registry.gates import MoveRefused
from core.errors import StaleVersion


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it; nothing was written. Read it again and retry."
    default_code = "precondition_failed"


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = (
        "Send the ETag you read as an If-Match header (or the version you read as `version`), "
        "so a concurrent change is not overwritten."
    )
    default_code = "precondition_required"


# Unique constraints the API can meet, by name: the field a 400 names.
CONSTRAINT_FIELDS = {
    "registry_businessunit_name_unique_ci": "name",
    "registry_person_email_unique_ci": "email",
    "registry_decision_unique_per_unit": "statement",
    "registry_usecase_external_id_unique": "external_id",
    "registry_kpi_unique_name_per_use_case": "name",
    "registry_kpiobservation_one_per_day": "observed_on",
}


def _integrity_field(exc: IntegrityError) -> str:
    text = str(exc)
    for constraint, field in CONSTRAINT_FIELDS.items():
        if constraint in text:
            return field
    return NON_FIELD_ERRORS


def _django_validation_errors(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {("non_field_errors" if k == NON_FIELD_ERRORS else k): v for k, v in exc.message_dict.items()}
    return {"non_field_errors": exc.messages}


def exception_handler(exc, context):
    if isinstance(exc, StaleVersion):
        return Response(
            {"detail": str(exc), "current_version": exc.record.version},
            status=status.HTTP_412_PRECONDITION_FAILED,
        )
    if isinstance(exc, MoveRefused):
        return Response(
            {
                "detail": f"Cannot move to {exc.to_stage}: the stage gate is not met.",
                "unmet": [{"code": c.code, "message": c.message} for c in exc.unmet],
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, BrokerUnavailable):
        return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "60"})
    if isinstance(exc, (ScanAlreadyRunning, FindingChangeRefused)):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        return Response(_django_validation_errors(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        field = _integrity_field(exc)
        if field == NON_FIELD_ERRORS:
            return None  # not a constraint we know: a real bug, let it surface
        return Response({field: ["A record with this value already exists."]}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
