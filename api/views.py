"""API views: thin callers. Every write goes through registry.services, registry.lifecycle,
portfolio.services; every role rule through registry.access."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.fields import CharField
from rest_framework.filters import search_smart_split
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from portfolio.services.findings import assign_finding, change_finding_status
from portfolio.models import FindingStatus
from portfolio.services.scans import start_scan
from portfolio import access as portfolio_access
from registry import access
from registry.services.lifecycle import move_use_case
from registry.inventory.directory import upsert_people
from registry.models import Decision, TransitionSource, UseCase
from registry.services.decisions import save_decision
from registry.services.directory import business_unit_named, save_person, upsert_person
from registry.services.kpis import record_kpi_observation
from registry.services.use_cases import edit_use_case, register_use_case, state_decision

from . import selectors
from . import serializers as s
from .etag import check_if_match, etag_for, expected_version
from .filters import (
    DecisionFilter,
    FindingFilter,
    KPIObservationFilter,
    PersonFilter,
    ScanRunFilter,
    StageTransitionFilter,
    UseCaseFilter,
)
from .pagination import LargeListPagination, PagePagination

MAX_SEARCH_LENGTH = 200


class SearchFilter(filters.SearchFilter):
    """DRF's search with a bounded query: a NUL or an over-long query is a 400, at most 10 terms."""

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        field = CharField(trim_whitespace=False, allow_blank=True, max_length=MAX_SEARCH_LENGTH)
        try:
            cleaned = field.run_validation(value)
        except ValidationError as error:
            raise ValidationError({self.search_param: error.detail}) from None
        return search_smart_split(cleaned)[:10]

    def filter_queryset(self, request, queryset, view):
        search_fields = self.get_search_fields(view, request)
        terms = self.get_search_terms(request)
        for term in terms if search_fields else []:
            queryset = queryset.filter(reduce(or_, (_contains(queryset.model, path, term) for path in search_fields)))
        return queryset


def _contains(model, path: str, term: str) -> Q:
    """`path` contains `term`, in any case. A field of a related row (through a foreign key)
    becomes a subquery on that row's table, so every branch of the OR stays on one table and
    PostgreSQL answers it from that column's trigram index (registry migration 0005)."""
    relation, _, rest = path.partition("__")
    if not rest:
        return Q(**{f"{path}__icontains": term})
    related = model._meta.get_field(relation).related_model
    return Q(**{f"{relation}__in": related._base_manager.filter(_contains(related, rest, term)).values("pk")})


BACKENDS = [DjangoFilterBackend, SearchFilter, filters.OrderingFilter]


def _is_writer(request) -> bool:
    return access.reach(request.user).write


class DetailETagMixin:
    """Detail responses carry an ETag; so do the answers to writes.

    Callers who fail to authenticate are throttled too (DRF checks throttles only after
    permissions), so guessing tokens is slowed like any other anonymous traffic.
    """

    detail_queryset = None

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except (NotAuthenticated, AuthenticationFailed):
            self.check_throttles(request)
            raise

    def detail_response(self, instance, *, status_code=status.HTTP_200_OK, serializer_class=None):
        fresh = self.detail_queryset().get(pk=instance.pk) if self.detail_queryset else instance
        serializer = (serializer_class or self.get_serializer_class())(fresh, context=self.get_serializer_context())
        headers = {"ETag": etag_for(fresh, serializer.data)}
        if status_code == status.HTTP_201_CREATED:
            headers["Location"] = reverse(f"api:{self.basename}-detail", args=[fresh.pk])
        return Response(serializer.data, status=status_code, headers=headers)

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self.get_serializer(instance).data
        etag = etag_for(instance, data)
        if etag in {tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")}:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(data, headers={"ETag": etag})

    def current_etag(self, instance) -> str:
        return etag_for(instance, self.get_serializer(instance).data)


# Business units and people ---------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Business units"),
    retrieve=extend_schema(summary="A business unit"),
    create=extend_schema(summary="Add a business unit (program office)"),
)
class BusinessUnitViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          mixins.CreateModelMixin, GenericViewSet):
    serializer_class = s.BusinessUnitSerializer
    queryset = selectors.business_units()
    filter_backends = [SearchFilter, filters.OrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["name", "id", "created_at"]
    ordering = ["name"]

    def may_write(self, request):
        return access.reach(request.user).keep_directory

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        unit = business_unit_named(name=serializer.validated_data["name"], actor=request.user)
        return self.detail_response(unit, status_code=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="People of the directory"),
    retrieve=extend_schema(summary="A person"),
    create=extend_schema(summary="Add a person (program office)"),
    update=extend_schema(summary="Update a person (program office)"),
    partial_update=extend_schema(summary="Update some of a person (program office)"),
)
class PersonViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    mixins.UpdateModelMixin, GenericViewSet):
    serializer_class = s.PersonSerializer
    queryset = selectors.people()
    filter_backends = BACKENDS
    filterset_class = PersonFilter
    search_fields = ["email", "name"]
    ordering_fields = ["id", "email", "created_at"]
    ordering = ["id"]
    pagination_class = LargeListPagination

    def may_write(self, request):
        return access.reach(request.user).keep_directory

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person, _ = upsert_person(actor=request.user, **serializer.validated_data)
        return self.detail_response(person, status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        person = self.get_object()
        expected = expected_version(request, person, body_version=None, required=False)
        serializer = self.get_serializer(person, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        email = data.pop("email", person.email)
        for field, value in data.items():
            if value is not None:  # as the directory feed: a null leaves the value as it is
                setattr(person, field, value)
        person.email = email
        person = save_person(person=person, actor=request.user, expected_version=expected)
        return self.detail_response(person)

    @extend_schema(summary="Directory sync: create or update people by email (program office)",
                   request=s.PeopleUpsertSerializer, responses={200: s.PeopleUpsertResultSerializer})
    @action(detail=False, methods=["post"], url_path="bulk-upsert")
    def bulk_upsert(self, request):
        serializer = s.PeopleUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        counts = upsert_people(serializer.validated_data["people"], actor=request.user)
        return Response(counts)


# Decisions ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Decisions"),
    retrieve=extend_schema(summary="A decision"),
    create=extend_schema(summary="Register a decision (program office, or a business owner for themselves)"),
    update=extend_schema(summary="Edit a decision (needs If-Match or version)"),
    partial_update=extend_schema(summary="Edit some of a decision (needs If-Match or version)"),
)
class DecisionViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.UpdateModelMixin, GenericViewSet):
    serializer_class = s.DecisionSerializer
    queryset = selectors.decisions()
    detail_queryset = staticmethod(selectors.decisions)
    filter_backends = BACKENDS
    filterset_class = DecisionFilter
    search_fields = ["statement", "execution_point"]
    ordering_fields = ["id", "statement", "updated_at", "created_at"]
    ordering = ["id"]
    versioned = True

    def may_write(self, request):
        return _is_writer(request)

    def may_change(self, request, decision):
        return access.offer_decision(request.user, decision).change

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        decision = Decision(**data)
        save_decision(decision=decision, actor=request.user)
        return self.detail_response(decision, status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        decision = self.get_object()
        serializer = self.get_serializer(decision, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected = expected_version(request, decision, body_version=data.pop("version", None), required=True)
        for field, value in data.items():
            setattr(decision, field, value)
        save_decision(decision=decision, actor=request.user, expected_version=expected)
        return self.detail_response(decision)

    @extend_schema(summary="The decision's history of changes", responses={200: s.HistoryRecordSerializer(many=True)},
                   filters=False)
    @action(detail=True, methods=["get"], pagination_class=PagePagination, filter_backends=[])
    def history(self, request, pk=None):
        return _history_page(self, self.get_object())


def _history_page(view, record):
    paginator = PagePagination()
    page = paginator.paginate_queryset(selectors.history_of(record), view.request, view=view)
    return paginator.get_paginated_response(s.HistoryRecordSerializer(page, many=True).data)


# Use cases ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Use cases (the inventory)"),
    retrieve=extend_schema(summary="A use case, its KPIs and what its next stage's gate still needs"),
    create=extend_schema(summary="Register a use case (enters proposed)"),
    update=extend_schema(summary="Edit a use case (needs If-Match or version; never its stage)"),
    partial_update=extend_schema(summary="Edit some of a use case (needs If-Match or version)"),
)
class UseCaseViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, GenericViewSet):
    filter_backends = BACKENDS
    filterset_class = UseCaseFilter
    search_fields = ["title", "external_id", "summary", "capability", "decision__statement"]
    ordering_fields = ["id", "title", "stage", "stage_entered_on", "updated_at", "created_at"]
    ordering = ["id"]
    pagination_class = LargeListPagination
    detail_queryset = staticmethod(selectors.use_case_detail)
    versioned = True

    def get_queryset(self):
        return selectors.use_case_rows() if self.action == "list" else selectors.use_case_detail()

    def list(self, request, *args, **kwargs):
        # Flat rows straight to JSON: building 100 model instances and running DRF's fields
        # over them was most of a page's time. UseCaseListSerializer still describes the shape.
        page = selectors.label_use_case_rows(self.paginate_queryset(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response([_use_case_row(row) for row in page])

    def get_serializer_class(self):
        if self.action == "list":
            return s.UseCaseListSerializer
        if self.action == "move":
            return s.MoveSerializer
        return s.UseCaseSerializer

    def may_write(self, request):
        return _is_writer(request)

    def may_change(self, request, use_case):
        return access.offer_use_case(request.user, use_case).change

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        friction_points = data.pop("friction_points", None)
        use_case = UseCase(**data)
        register_use_case(use_case=use_case, actor=request.user, source=TransitionSource.API,
                          friction_points=friction_points)
        return self.detail_response(use_case, status_code=status.HTTP_201_CREATED, serializer_class=s.UseCaseSerializer)

    def update(self, request, *args, partial=False, **kwargs):
        use_case = self.get_object()
        serializer = self.get_serializer(use_case, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected = expected_version(request, use_case, body_version=data.pop("version", None), required=True)
        friction_points = data.pop("friction_points", None)
        for field, value in data.items():
            setattr(use_case, field, value)
        edit_use_case(use_case=use_case, actor=request.user, expected_version=expected, friction_points=friction_points)
        return self.detail_response(use_case)

    @extend_schema(
        summary="Move the use case to another stage through its gate",
        request=s.MoveSerializer,
        responses={
            200: s.UseCaseSerializer,
            409: OpenApiResponse(s.MoveRefusedSerializer, description="Refused: the move is not allowed or the gate is not met; `unmet` lists every reason."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def move(self, request, pk=None):
        use_case = self.get_object()
        serializer = s.MoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        expected = expected_version(request, use_case, body_version=data.get("version"), required=False)
        moved = move_use_case(
            use_case=use_case, to_stage=data["to_stage"], actor=request.user, reason=data["reason"],
            source=TransitionSource.API, expected_version=expected,
        )
        return self.detail_response(moved, serializer_class=s.UseCaseSerializer)

    @extend_schema(
        summary="State the decision of a use case imported without one (it sits under a placeholder)",
        request=s.StateDecisionSerializer,
        responses={200: s.UseCaseSerializer},
    )
    @action(detail=True, methods=["post"], url_path="state-decision", filter_backends=[])
    def state_decision(self, request, pk=None):
        use_case = self.get_object()
        serializer = s.StateDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        expected = expected_version(request, use_case, body_version=data.get("version"), required=False)
        state_decision(use_case=use_case, statement=data["statement"], frequency=data["frequency"],
                       actor=request.user, expected_version=expected)
        return self.detail_response(use_case, serializer_class=s.UseCaseSerializer)

    @extend_schema(summary="The use case's history of changes", responses={200: s.HistoryRecordSerializer(many=True)},
                   filters=False)
    @action(detail=True, methods=["get"], pagination_class=PagePagination, filter_backends=[])
    def history(self, request, pk=None):
        return _history_page(self, self.get_object())


def _use_case_row(row: dict) -> dict:
    value = row["expected_annual_value"]
    return {**row, "expected_annual_value": None if value is None else str(value)}


# KPI observations, stage transitions -------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="KPI observations"),
    retrieve=extend_schema(summary="A KPI observation"),
    create=extend_schema(summary="Record a KPI's value on a day (recording the same day again corrects it)"),
)
class KPIObservationViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            mixins.CreateModelMixin, GenericViewSet):
    serializer_class = s.KPIObservationSerializer
    queryset = selectors.kpi_observations()
    detail_queryset = staticmethod(selectors.kpi_observations)
    filter_backends = BACKENDS
    filterset_class = KPIObservationFilter
    search_fields = []
    ordering_fields = ["id", "observed_on"]
    ordering = ["-id"]
    pagination_class = LargeListPagination

    def may_write(self, request):
        return _is_writer(request)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kpi = serializer.validated_data["kpi"]
        observation = record_kpi_observation(
            kpi=kpi, observed_on=serializer.validated_data["observed_on"], value=serializer.validated_data["value"],
            actor=request.user, source=TransitionSource.API,
        )
        return self.detail_response(observation, status_code=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Stage transitions (the lifecycle's audit trail)"),
    retrieve=extend_schema(summary="A stage transition"),
)
class StageTransitionViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    serializer_class = s.StageTransitionSerializer
    queryset = selectors.stage_transitions()
    filter_backends = BACKENDS
    filterset_class = StageTransitionFilter
    search_fields = ["reason"]
    ordering_fields = ["id", "occurred_at"]
    ordering = ["-id"]
    pagination_class = LargeListPagination


# Findings and scans ------------------------------------------------------------------------------

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
    ordering_fields = ["id", "last_seen", "first_seen", "status_changed_at"]
    ordering = ["-id"]
    pagination_class = LargeListPagination

    def may_write(self, request):
        return _is_writer(request)

    def may_change(self, request, finding):
        if self.action == "assign":
            return portfolio_access.can_assign_findings(request.user)
        return portfolio_access.can_answer_finding(request.user, finding)

    def _change(self, request, to_status, serializer_class):
        finding = self.get_object()
        expected = expected_version(request, finding, body_version=None, required=False)
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
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
        expected = expected_version(request, finding, body_version=None, required=False)
        serializer = s.FindingAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assigned = assign_finding(finding=finding, assignee=serializer.validated_data["assignee"], actor=request.user,
                                  expected_version=expected)
        return self.detail_response(assigned, serializer_class=s.FindingSerializer)


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
        return portfolio_access.can_run_scans(request.user)

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
