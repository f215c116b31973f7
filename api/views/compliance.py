"""The portfolio's compliance figures (the program office's and the auditors')."""

from __future__ import annotations

from django.utils import timezone
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from registry import access
from registry.models import BusinessUnit, Stage, UseCase
from registry.selectors import compliance as compliance_selectors

from .. import serializers as s
from ..filters import MAX_ID, ComplianceFilter


class ComplianceView(APIView):
    @extend_schema(
        summary="Compliance figures: OMB determinations, minimum practices, EU AI Act classes (program office, auditors)",
        description=("The figures of the portfolio page's compliance view, judged as on today: a practice with a "
                     "waiver in force counts as waived whatever its record says; missing means no record or not "
                     "started; a gap is a practice neither done nor waived."),
        parameters=[
            OpenApiParameter("unit", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, OpenApiParameter.QUERY,
                             description="A business unit's id: its use cases only."),
            OpenApiParameter("stage", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=Stage.values,
                             description="Use cases in this stage only."),
        ],
        responses={200: s.ComplianceSerializer,
                   404: OpenApiResponse(s.ErrorSerializer, description="No business unit has that id.")},
    )
    def get(self, request):
        access.require(access.reach(request.user).see_portfolio,
                       "The compliance figures are the program office's and the auditors'.")
        filters = ComplianceFilter(request.query_params, queryset=UseCase.objects.none())
        if not filters.is_valid():
            raise translate_validation(filters.errors)
        unit_id, stage = filters.form.cleaned_data.get("unit"), filters.form.cleaned_data.get("stage") or None
        unit = None
        if unit_id is not None:
            unit = BusinessUnit.objects.filter(pk=unit_id).first()
            if unit is None:
                raise NotFound(f"No business unit has the id {int(unit_id)}.")
        figures = compliance_selectors.compliance(unit=unit, stage=stage, today=timezone.localdate())
        return Response(s.ComplianceSerializer(figures).data)
