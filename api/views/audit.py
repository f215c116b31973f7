"""The audit log for auditors and the program office: pages newest first, the streamed export
of a filter (CSV or JSON Lines) and the hash chain's head, as the pages have them."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput, NotFound
from registry import access, audit
from registry.models import AuditEntry
from registry.selectors import audit as audit_selectors

from .. import serializers as s
from ..filters import BLANK, MAX_ID, NO_NUL_PATTERN, single_value

ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
FILTER_PARAMETERS = [
    OpenApiParameter("since", OpenApiTypes.DATE, required=False, description="Changes on or after this day."),
    OpenApiParameter("until", OpenApiTypes.DATE, required=False, description="Changes on or before this day."),
    OpenApiParameter("unit", ID, required=False, description="Only this business unit's records (its id; a finding "
                                                             "belongs to the units of its use cases)."),
    OpenApiParameter("record_type", str, required=False, enum=audit_selectors.record_types(),
                     description="What changed."),
    OpenApiParameter("actor", {"type": "string", "maxLength": 200, "pattern": NO_NUL_PATTERN}, required=False,
                     description="The actor's name contains this (a username, \"import of\", \"scan\")."),
    OpenApiParameter("kind", str, required=False, enum=AuditEntry.Kind.values, description="Kind of change."),
    OpenApiParameter("subject_type", str, required=False, enum=list(audit_selectors.SUBJECT_MODELS),
                     description="The kind of record whose page the entry belongs to; with subject_id, one "
                                 "record's part of the log."),
    OpenApiParameter("subject_id", ID, required=False),
]
NOT_ALLOWED = OpenApiResponse(s.ErrorSerializer, description="Not an auditor or the program office.")
# Every filter but `actor` (whose blank means anyone).
TYPED_PARAMETERS = ("since", "until", "unit", "record_type", "kind", "subject_type", "subject_id", "before",
                    "file_format")


def _entries(request):
    """The filtered entries; 400 naming each parameter that makes no sense, 404 for a unit that
    does not exist."""
    audit_filter, problems = audit_selectors.read_filter(request.query_params)
    queryset = audit_selectors.entries(request.user, audit_filter)
    errors: dict[str, list[str]] = {}
    for name in TYPED_PARAMETERS:
        # A parameter given twice, or blank, is a mistake the pages forgive and the API names.
        given = single_value(request, name)
        if given is not None and not given.strip():
            errors[name] = [BLANK]
    for problem in problems:
        if isinstance(problem, InvalidInput):
            for field, messages in problem.field_errors().items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if problems:
        raise problems[0]
    return queryset


class AuditLogView(APIView):
    @extend_schema(
        summary="The audit log, newest first, 50 entries a page",
        parameters=[*FILTER_PARAMETERS, OpenApiParameter("before", ID, required=False,
                                                         description="The page after this entry (the `next` link).")],
        responses={200: s.AuditPageSerializer, 403: NOT_ALLOWED},
    )
    def get(self, request):
        queryset = _entries(request)
        before = request.query_params.get("before", "")
        key = None
        if before:
            pk = audit_selectors.whole_number(before)
            if pk is None:
                raise ValidationError({"before": ["Give the id of an entry of the log (the `next` link has it)."]})
            at = AuditEntry.objects.filter(pk=pk).values_list("at", flat=True).first()
            if at is None:
                raise NotFound(f"No entry {pk} in the audit log.")
            key = (at, pk)
        rows, next_key = audit_selectors.page(queryset, before=key)
        next_url = None
        if next_key:
            query = request.query_params.copy()
            query["before"] = str(next_key[1])
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"results": [audit_selectors.export_record(row) for row in rows], "next": next_url})


class AuditExportView(APIView):
    @extend_schema(
        summary="Every entry of a filter, streamed: CSV or JSON Lines",
        parameters=[*FILTER_PARAMETERS, OpenApiParameter("file_format", str, required=False, enum=["csv", "jsonl"],
                                                         description="csv (default) or jsonl.")],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/x-ndjson"): OpenApiTypes.STR,
                   403: NOT_ALLOWED},
    )
    def get(self, request):
        file_format = request.query_params.get("file_format", "csv")
        if file_format not in audit_selectors.EXPORT_FORMATS:
            raise ValidationError({"file_format": ["csv or jsonl."]})
        response = StreamingHttpResponse(audit_selectors.export_lines(_entries(request), file_format),
                                         content_type="text/csv; charset=utf-8" if file_format == "csv"
                                         else "application/x-ndjson; charset=utf-8")
        response["Content-Disposition"] = (f'attachment; filename="audit-log-{timezone.localdate().isoformat()}'
                                           f'.{file_format}"')
        return response


class AuditHeadView(APIView):
    @extend_schema(summary="The audit log's chain head: an anchor to keep elsewhere",
                   responses={200: s.AuditHeadSerializer, 403: NOT_ALLOWED})
    def get(self, request):
        access.access_audit_log(request.user)
        head = audit.chain_head()
        return Response({"seq": head.seq, "chain_hash": head.chain_hash, "anchor": str(head)})
