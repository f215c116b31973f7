"""Domain errors as HTTP answers, mapped once, so no refusal becomes a 500.

core.errors: NotAllowed → 403, NotFound → 404, InvalidInput → 400 naming each field,
StaleVersion → 412, MoveRefused → 409 with the unmet conditions, Refused and Conflict → 409,
Unavailable → 503. Django's ValidationError and known unique-constraint IntegrityErrors → 400
naming the field; a request Django refuses as suspicious → 400 (a body over the size limit → 413).

Every answer is JSON, an unexpected error's too: anything else is a bug, logged with its
traceback (to `django.request`, as Django logs a 500) and answered 500 `{"detail": …}` with
nothing of its internals.
"""

from __future__ import annotations

import logging

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.db import IntegrityError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound, Refused, StaleVersion, Unavailable
from registry.gates import MoveRefused

logger = logging.getLogger("django.request")
SERVER_ERROR = "Server error: the request was not completed. It has been logged; try again later or tell the administrators."


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it; nothing was written. Read it again and retry."
    default_code = "precondition_failed"


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = (
        "Send the ETag you read as an If-Match header, so a concurrent change is not overwritten."
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


def _field_errors(errors: dict) -> dict:
    return {("non_field_errors" if field == NON_FIELD_ERRORS else field): messages for field, messages in errors.items()}


def _domain_answer(exc: DomainError) -> Response:
    if isinstance(exc, StaleVersion):
        return Response({"detail": exc.message, "current_version": exc.record.version},
                        status=status.HTTP_412_PRECONDITION_FAILED)
    if isinstance(exc, MoveRefused):
        return Response(
            {
                "detail": f"Cannot move to {exc.to_stage}: the stage gate is not met.",
                "unmet": [{"code": c.code, "message": c.message} for c in exc.unmet],
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, InvalidInput):
        return Response(_field_errors(exc.field_errors()), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, NotAllowed):
        return Response({"detail": exc.message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, NotFound):
        return Response({"detail": exc.message}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Unavailable):
        return Response({"detail": exc.message}, status=status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": "60"})
    if isinstance(exc, (Refused, Conflict)):
        return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)


def _server_error(exc, context) -> Response:
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    logger.error("Internal Server Error: %s", getattr(django_request, "path", "?"), exc_info=exc,
                 extra={"status_code": 500, "request": django_request})
    got_request_exception.send(sender=None, request=django_request)  # as Django's own 500 does
    set_rollback()
    return Response({"detail": SERVER_ERROR}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return _domain_answer(exc)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return Response(_field_errors(exc.message_dict), status=status.HTTP_400_BAD_REQUEST)
        return Response({"non_field_errors": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        field = _integrity_field(exc)
        if field == NON_FIELD_ERRORS:
            return _server_error(exc, context)  # not a constraint we know: a real bug
        return Response({field: ["A record with this value already exists."]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "The request body is too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": "Bad request."}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    return response if response is not None else _server_error(exc, context)
