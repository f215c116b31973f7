"""Decisions: register, edit (versioned), history."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.viewsets import GenericViewSet

from registry import access
from registry.models import Decision
from registry.services.decisions import save_decision

from .. import selectors
from .. import serializers as s
from ..etag import expected_version
from ..filters import DecisionFilter
from ..pagination import PagePagination
from .common import BACKENDS, DetailETagMixin, history_page, is_writer


@extend_schema_view(
    list=extend_schema(summary="Decisions"),
    retrieve=extend_schema(summary="A decision"),
    create=extend_schema(summary="Register a decision (program office, or a business owner for themselves)"),
    update=extend_schema(summary="Edit a decision (needs If-Match)"),
    partial_update=extend_schema(summary="Edit some of a decision (needs If-Match)"),
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
        return is_writer(request)

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
        return history_page(self, self.get_object())


