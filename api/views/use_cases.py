"""Use cases (register, edit, move through a gate, state the decision, history), their KPI
observations, their investment per value-chain layer and their stage transitions."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from core.errors import NotFound

from registry import access
from registry.models import Practice, TransitionSource, UseCase
from registry.selectors import use_cases as use_case_selectors
from registry.selectors.determinations import waiver_register
from registry.services.determinations import (
    classify_eu, determine_high_impact, grant_waiver, record_practice, record_waiver_reported, revoke_waiver,
)
from registry.services.investments import delete_investment, record_investment
from registry.services.kpis import record_kpi_observation
from registry.services.lifecycle import move_use_case
from registry.services.sign_offs import sign_off
from portfolio.services.findings import state_decision
from registry.services.use_cases import edit_use_case, register_use_case

from .. import selectors
from .. import serializers as s
from ..etag import check_if_match, expected_version
from ..filters import InvestmentFilter, KPIObservationFilter, StageTransitionFilter, UseCaseFilter
from ..pagination import LargeListPagination, PagePagination
from .common import BACKENDS, DetailETagMixin, history_page, is_writer


@extend_schema_view(
    list=extend_schema(summary="Use cases (the inventory)"),
    retrieve=extend_schema(summary="A use case, its KPIs and what its next stage's gate still needs"),
    create=extend_schema(summary="Register a use case (enters proposed)"),
    update=extend_schema(summary="Edit a use case (needs If-Match; never its stage)"),
    partial_update=extend_schema(summary="Edit some of a use case (needs If-Match)"),
)
class UseCaseViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, GenericViewSet):
    filter_backends = BACKENDS
    filterset_class = UseCaseFilter
    search_fields = use_case_selectors.SEARCH_FIELDS
    search_matching = staticmethod(use_case_selectors.matching)
    ordering_fields = ["id", "title", "stage", "stage_entered_on", "updated_at", "created_at"]
    ordering = ["id"]
    pagination_class = LargeListPagination
    detail_queryset = staticmethod(selectors.use_case_detail)
    versioned = True

    def get_queryset(self):
        return use_case_selectors.use_case_rows() if self.action == "list" else selectors.use_case_detail()

    def list(self, request, *args, **kwargs):
        # Flat rows straight to JSON: building 100 model instances and running DRF's fields
        # over them was most of a page's time. UseCaseListSerializer still describes the shape.
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([_use_case_row(row) for row in page])

    def get_serializer_class(self):
        if self.action == "list":
            return s.UseCaseListSerializer
        if self.action == "move":
            return s.MoveSerializer
        return s.UseCaseSerializer

    # Signing off and determining are not changes an owner makes: their services judge the
    # actor's role (403 with the reason), whatever the actor owns.
    ROLE_JUDGED_ACTIONS = ("sign_offs", "omb_determination", "eu_classification")

    def may_write(self, request):
        return self.action in self.ROLE_JUDGED_ACTIONS or is_writer(request)

    def may_change(self, request, use_case):
        return self.action in self.ROLE_JUDGED_ACTIONS or access.offer_use_case(request.user, use_case).change

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
        read_version = use_case.version
        edit_use_case(use_case=use_case, actor=request.user, expected_version=expected, friction_points=friction_points)
        if friction_points is not None:
            use_case.friction_point_codes = None  # read with the row, before they were set
        return self.edited_response(use_case, read_version=read_version, serializer=serializer)

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

    @extend_schema(
        summary="Sign off the use case entering pilot or production (not by its own owners)",
        request=s.SignOffRequestSerializer,
        responses={
            201: s.SignOffSerializer,
            403: OpenApiResponse(s.ErrorSerializer, description="An owner of the use case, an auditor, or no approver for its unit."),
            409: OpenApiResponse(s.ErrorSerializer, description="The stage is not the use case's next stage."),
        },
    )
    @action(detail=True, methods=["post"], url_path="sign-offs", filter_backends=[])
    def sign_offs(self, request, pk=None):
        use_case = self.get_object()
        serializer = s.SignOffRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        given = sign_off(use_case=use_case, stage=data["stage"], outcome=data["outcome"], note=data["note"],
                         actor=request.user)
        return Response(s.SignOffSerializer(given).data, status=status.HTTP_201_CREATED)

    # The determinations are edits of the use case (a new version of it): like PUT and PATCH of
    # the use case itself, they need the ETag read as If-Match (428 without it).
    @extend_schema(summary="Record the OMB M-25-21 high-impact determination (program office, Chief AI Officer)",
                   request=s.OMBDeterminationRequestSerializer, responses={200: s.UseCaseSerializer})
    @action(detail=True, methods=["put"], url_path="omb-determination", filter_backends=[])
    def omb_determination(self, request, pk=None):
        use_case = self.get_object()
        serializer = s.OMBDeterminationRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected = expected_version(request, use_case, body_version=data.pop("version", None), required=True)
        determine_high_impact(use_case=use_case, actor=request.user, expected_version=expected, **data)
        return self.detail_response(use_case, serializer_class=s.UseCaseSerializer)

    @extend_schema(summary="Record where a minimum practice stands, with its evidence",
                   request=s.PracticeRequestSerializer, responses={200: s.UseCaseSerializer})
    @action(detail=True, methods=["put"], url_path=r"practices/(?P<practice>[a-z_]{1,40})", filter_backends=[])
    def practice(self, request, pk=None, practice=None):
        use_case = self.get_object()
        if practice not in Practice.values:
            raise NotFound(f"No minimum practice '{practice}'; they are: {', '.join(Practice.values)}.")
        serializer = s.PracticeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected = expected_version(request, use_case, body_version=data.pop("version", None), required=True)
        record_practice(use_case=use_case, practice=practice, actor=request.user, expected_version=expected, **data)
        return self.detail_response(use_case, serializer_class=s.UseCaseSerializer)

    @extend_schema(summary="Record the EU AI Act role and risk class (program office, Chief AI Officer)",
                   request=s.EUClassificationRequestSerializer, responses={200: s.UseCaseSerializer})
    @action(detail=True, methods=["put"], url_path="eu-classification", filter_backends=[])
    def eu_classification(self, request, pk=None):
        use_case = self.get_object()
        serializer = s.EUClassificationRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected = expected_version(request, use_case, body_version=data.pop("version", None), required=True)
        classify_eu(use_case=use_case, actor=request.user, expected_version=expected, **data)
        return self.detail_response(use_case, serializer_class=s.UseCaseSerializer)

    @extend_schema(summary="The use case's history of changes", responses={200: s.HistoryRecordSerializer(many=True)},
                   filters=False)
    @action(detail=True, methods=["get"], pagination_class=PagePagination, filter_backends=[])
    def history(self, request, pk=None):
        return history_page(self, self.get_object())


def _use_case_row(row: dict) -> dict:
    value = row["expected_annual_value"]
    return {**row, "expected_annual_value": None if value is None else str(value)}


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
        return is_writer(request)

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
    list=extend_schema(summary="Investment per use case, value-chain layer and period (planned and spent)"),
    retrieve=extend_schema(summary="An investment"),
    create=extend_schema(summary="Record what was planned and spent on one layer of a use case over a period "
                                 "(recording the same use case, layer and period start again corrects it)"),
    destroy=extend_schema(
        summary="Delete a record of investment entered in error (the history keeps it)",
        responses={204: None, 403: OpenApiResponse(s.ErrorSerializer, description="Not the program office or one "
                   "of the use case's owners."), 404: OpenApiResponse(s.ErrorSerializer, description="No such record.")},
    ),
)
class InvestmentViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        mixins.DestroyModelMixin, GenericViewSet):
    serializer_class = s.InvestmentSerializer
    queryset = selectors.investments()
    detail_queryset = staticmethod(selectors.investments)
    filter_backends = BACKENDS
    filterset_class = InvestmentFilter
    search_fields = []
    ordering_fields = ["id", "period_start"]
    ordering = ["-id"]
    pagination_class = LargeListPagination

    def may_write(self, request):
        return is_writer(request)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        investment = record_investment(actor=request.user, **serializer.validated_data)
        return self.detail_response(investment, status_code=status.HTTP_201_CREATED)

    def may_change(self, request, investment):
        return access.offer_use_case(request.user, investment.use_case).record_investment

    def destroy(self, request, *args, **kwargs):
        investment = self.get_object()
        check_if_match(request, self.current_etag(investment))
        delete_investment(investment=investment, actor=request.user, reason="deleted through the API")
        return Response(status=status.HTTP_204_NO_CONTENT)


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




WAIVER_REFUSAL = OpenApiResponse(s.ErrorSerializer, description="The waiver's state does not allow it: "
                                 "already in force, reported or revoked, or expired.")


@extend_schema_view(
    list=extend_schema(summary="The waiver register: every waived minimum practice, soonest expiry first"),
    retrieve=extend_schema(summary="A waiver"),
    create=extend_schema(summary="Waive a minimum practice for a use case (Chief AI Officer)"),
)
class WaiverViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    GenericViewSet):
    serializer_class = s.WaiverSerializer
    queryset = waiver_register()
    filter_backends = []
    pagination_class = LargeListPagination

    def get_queryset(self):
        return waiver_register()

    def get_serializer_class(self):
        return s.WaiverRequestSerializer if self.action == "create" else s.WaiverSerializer

    def may_write(self, request):
        return True  # the services judge the role: a Chief AI Officer only

    @extend_schema(request=s.WaiverRequestSerializer, responses={201: s.WaiverSerializer, 409: WAIVER_REFUSAL})
    def create(self, request, *args, **kwargs):
        serializer = s.WaiverRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        waiver = grant_waiver(actor=request.user, **serializer.validated_data)
        return self.detail_response(waiver, status_code=status.HTTP_201_CREATED, serializer_class=s.WaiverSerializer)

    @extend_schema(summary="Record the day the waiver was reported to OMB", request=s.WaiverReportSerializer,
                   responses={200: s.WaiverSerializer, 409: WAIVER_REFUSAL})
    @action(detail=True, methods=["post"], filter_backends=[])
    def report(self, request, pk=None):
        waiver = self.get_object()
        serializer = s.WaiverReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        waiver = record_waiver_reported(waiver=waiver, reported_on=serializer.validated_data["reported_on"],
                                        actor=request.user)
        return self.detail_response(waiver, serializer_class=s.WaiverSerializer)

    @extend_schema(summary="Revoke the waiver before it expires", request=s.WaiverRevokeSerializer,
                   responses={200: s.WaiverSerializer, 409: WAIVER_REFUSAL})
    @action(detail=True, methods=["post"], filter_backends=[])
    def revoke(self, request, pk=None):
        waiver = self.get_object()
        serializer = s.WaiverRevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        waiver = revoke_waiver(waiver=waiver, reason=serializer.validated_data["reason"], actor=request.user)
        return self.detail_response(waiver, serializer_class=s.WaiverSerializer)
