"""Findings (answer, assign) and scan runs (start one)."""

from __future__ import annotations

from decimal import Decimal

from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from portfolio import access as portfolio_access
from portfolio.models import FindingStatus
from portfolio.selectors import findings as finding_selectors
from portfolio.models import Finding
from portfolio.services.findings import act_on_findings, assign_finding, change_finding_status
from portfolio.services.scans import start_scan

from .. import selectors
from .. import serializers as s
from ..etag import expected_version
from ..filters import FindingFilter, ScanRunFilter
from ..pagination import LargeListPagination
from .common import BACKENDS, DetailETagMixin, is_writer

FINDING_REFUSAL = OpenApiResponse(s.ErrorSerializer, description="The finding's lifecycle does not allow this change.")


@extend_schema_view(
    list=extend_schema(summary="Findings of the portfolio scans"),
    retrieve=extend_schema(summary="A finding"),
)
class FindingViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    serializer_class = s.FindingSerializer
    queryset = selectors.findings()
    detail_queryset = staticmethod(selectors.findings)
    filter_backends = BACKENDS
    filterset_class = FindingFilter
    search_fields = ["title"]
    ordering_fields = ["id", "last_seen", "first_seen", "status_changed_at", "price"]
    # Unpriced findings last whether the costliest or the cheapest come first: past any price (16 digits, 2 decimals).
    nulls_last_ordering = {"price": Decimal("1e14")}
    ordering = ["-id"]
    pagination_class = LargeListPagination

    def get_queryset(self):
        # A business owner sees the findings on what she owns, as in the inbox; 404 for others.
        return finding_selectors.visible_to(self.request.user, super().get_queryset())

    def may_write(self, request):
        return is_writer(request)

    def may_change(self, request, finding):
        offer = portfolio_access.offer_finding(request.user, finding)
        return offer.assign if self.action == "assign" else offer.answer

    def _change(self, request, to_status, serializer_class):
        finding = self.get_object()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)  # a malformed body is a 400 whatever the If-Match
        expected = expected_version(request, finding, body_version=None, required=False)
        changed = change_finding_status(
            finding=finding, to_status=to_status, actor=request.user, reason=serializer.validated_data["reason"],
            expected_version=expected,
        )
        return self.detail_response(changed, serializer_class=s.FindingSerializer)

    @extend_schema(summary="Acknowledge a finding", request=s.FindingReasonSerializer,
                   responses={200: s.FindingSerializer, 409: FINDING_REFUSAL})
    @action(detail=True, methods=["post"], filter_backends=[])
    def acknowledge(self, request, pk=None):
        return self._change(request, FindingStatus.ACKNOWLEDGED, s.FindingReasonSerializer)

    @extend_schema(summary="Resolve a finding", request=s.FindingReasonSerializer,
                   responses={200: s.FindingSerializer, 409: FINDING_REFUSAL})
    @action(detail=True, methods=["post"], filter_backends=[])
    def resolve(self, request, pk=None):
        return self._change(request, FindingStatus.RESOLVED, s.FindingReasonSerializer)

    @extend_schema(summary="Reopen a finding", request=s.FindingReasonSerializer,
                   responses={200: s.FindingSerializer, 409: FINDING_REFUSAL})
    @action(detail=True, methods=["post"], filter_backends=[])
    def reopen(self, request, pk=None):
        return self._change(request, FindingStatus.OPEN, s.FindingReasonSerializer)

    @extend_schema(summary="Dismiss a finding (a reason is required)", request=s.FindingDismissSerializer,
                   responses={200: s.FindingSerializer, 409: FINDING_REFUSAL})
    @action(detail=True, methods=["post"], filter_backends=[])
    def dismiss(self, request, pk=None):
        return self._change(request, FindingStatus.DISMISSED, s.FindingDismissSerializer)

    @extend_schema(summary="Assign a finding to a person (program office)", request=s.FindingAssignSerializer,
                   responses={200: s.FindingSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def assign(self, request, pk=None):
        finding = self.get_object()
        serializer = s.FindingAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        expected = expected_version(request, finding, body_version=None, required=False)
        assigned = assign_finding(finding=finding, assignee=serializer.validated_data["assignee"], actor=request.user,
                                  expected_version=expected)
        return self.detail_response(assigned, serializer_class=s.FindingSerializer)

    @extend_schema(
        summary="Acknowledge, assign, dismiss or reopen many findings at once: all or nothing",
        request=s.FindingBulkSerializer,
        responses={200: s.FindingBulkResultSerializer,
                   403: OpenApiResponse(s.ErrorSerializer, description="You may not act on some of them (named)."),
                   409: OpenApiResponse(s.ErrorSerializer, description="The lifecycle refuses some of them (named).")},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def bulk(self, request):
        serializer = s.FindingBulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcome = act_on_findings(
            actor=request.user, action=data["action"], ids=data.get("ids"),
            matching=_matching(data["filter"]) if "filter" in data else None,
            assignee=data.get("assignee", ""), reason=data["reason"],
        )
        return Response({"changed": outcome.changed, "skipped": outcome.skipped})


def _matching(selection: dict):
    """The findings the list would show for these query parameters, through the list's own filter."""
    query = QueryDict(mutable=True)
    for name, value in selection.items():
        query.setlist(name, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    filterset = FindingFilter(data=query, queryset=Finding.objects.all())
    if not filterset.is_valid():
        raise ValidationError({"filter": filterset.errors})
    return filterset.qs


@extend_schema_view(
    list=extend_schema(summary="Scan runs"),
    retrieve=extend_schema(summary="A scan run"),
)
class ScanRunViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    serializer_class = s.ScanRunSerializer
    queryset = selectors.scan_runs()
    filter_backends = BACKENDS
    filterset_class = ScanRunFilter
    search_fields = []
    ordering_fields = ["id", "queued_at"]
    ordering = ["-id"]

    def may_write(self, request):
        return portfolio_access.offer_findings(request.user).run_scans

    @extend_schema(
        summary="Start a scan (program office): queued for a worker",
        request=s.StartScanSerializer,
        responses={
            202: OpenApiResponse(s.ScanRunSerializer, description="Queued; follow it at its Location."),
            409: OpenApiResponse(s.ErrorSerializer, description="Another scan is running."),
            503: OpenApiResponse(s.ErrorSerializer, description="The task broker cannot be reached; nothing will run."),
        },
    )
    def create(self, request):
        serializer = s.StartScanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scan_run = start_scan(
            kinds=serializer.validated_data.get("kinds"), as_of=serializer.validated_data.get("as_of"), actor=request.user
        )
        headers = {"Location": reverse("api:scan-run-detail", args=[scan_run.pk])}
        return Response(s.ScanRunSerializer(scan_run).data, status=status.HTTP_202_ACCEPTED, headers=headers)
