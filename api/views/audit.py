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

from registry import access, audit
from registry.models import AuditEntry
from registry.selectors import audit as audit_selectors

from .. import serializers as s

FILTER_PARAMETERS = [
    OpenApiParameter("since", OpenApiTypes.DATE, required=False, description="Changes on or after this day."),
    OpenApiParameter("until", OpenApiTypes.DATE, required=False, description="Changes on or before this day."),
    OpenApiParameter("unit", OpenApiTypes.INT, required=False, description="Only this business unit's records (its id)."),
    OpenApiParameter("record_type", str, required=False, description="use case, decision, KPI, stage move, sign-off, "
                                                                      "finding, scan run…"),
    OpenApiParameter("actor", str, required=False, description="The actor's name contains this (a username, "
                                                               "\"import of\", \"scan\")."),
    OpenApiParameter("kind", str, required=False, enum=AuditEntry.Kind.values, description="Kind of change."),
    OpenApiParameter("subject_type", str, required=False, description="With subject_id: one record's part of the log "
                                                                      "(usecase, decision, person, finding, unit…)."),
    OpenApiParameter("subject_id", OpenApiTypes.INT, required=False),
]
NOT_ALLOWED = OpenApiResponse(s.ErrorSerializer, description="Not an auditor or the program office.")
INVALID = OpenApiResponse(s.ErrorSerializer, description="A filter that makes no sense, named.")


def _entries(request):
    audit_filter, problems = audit_selectors.read_filter(request.query_params)
    queryset = audit_selectors.entries(request.user, audit_filter)
    if problems:
        errors: dict[str, list[str]] = {}
        for problem in problems:
            for field, messages in problem.field_errors().items():
                errors.setdefault(field, []).extend(messages)
        raise ValidationError(errors)
    return queryset


class AuditLogView(APIView):
    @extend_schema(
        summary="The audit log, newest first, 50 entries a page",
        parameters=[*FILTER_PARAMETERS, OpenApiParameter("before", OpenApiTypes.INT, required=False,
                                                         description="The page after this entry (the `next` link).")],
        responses={200: s.AuditPageSerializer, 400: INVALID, 403: NOT_ALLOWED},
    )
    def get(self, request):
        queryset = _entries(request)
        before = request.query_params.get("before", "")
        key = None
        if before:
            pk = audit_selectors.whole_number(before)
            at = AuditEntry.objects.filter(pk=pk).values_list("at", flat=True).first() if pk is not None else None
            if at is None:
                raise ValidationError({"before": ["Give the id of an entry of the log (the `next` link has it)."]})
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
                   400: INVALID, 403: NOT_ALLOWED},
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
