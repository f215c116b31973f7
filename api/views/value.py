"""Where value leaks, in money: the portfolio's (or one unit's) expected and realised annual
value and the open findings' prices by cause, as `portfolio.selectors.value` computes them."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from portfolio.selectors.value import CAUSES, value_leaks
from registry import access
from registry.models import VALUE_CHAIN_LAYERS, BusinessUnit

from .. import serializers as s
from ..filters import MAX_ID, single_value

_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


class ValueView(APIView):
    @extend_schema(
        summary="Where value leaks: expected and realised annual value, and the open findings' prices by cause",
        parameters=[OpenApiParameter("business_unit", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                                     required=False, description="Only this business unit (its id).")],
        responses={200: s.ValueSerializer, 403: OpenApiResponse(s.ErrorSerializer, description="Not the program "
                   "office or an auditor."), 404: OpenApiResponse(s.ErrorSerializer, description="No such unit.")},
    )
    def get(self, request):
        access.require(access.reach(request.user).see_portfolio, "Where value leaks is the program office's (and "
                                                               "auditors') view of the portfolio.")
        unit = None
        given = single_value(request, "business_unit")
        if given is not None:
            if not _WHOLE_NUMBER.fullmatch(given) or not 1 <= int(given) <= MAX_ID:
                raise ValidationError({"business_unit": ["Give the id of a business unit, a whole number from 1."]})
            unit = BusinessUnit.objects.filter(pk=int(given)).first()
            if unit is None:
                raise NotFound(f"No business unit with id {given}.")
        figures = value_leaks(unit=unit)
        return Response({
            "currency": figures.currency,
            "expected": _money(figures.expected),
            "realised": _money(figures.realised),
            "leaks": {cause: _money(figures.leaks[cause]) for cause in CAUSES},
            "leaks_by_layer": {layer: {cause: _money(figures.by_layer[cause][layer]) for cause in CAUSES}
                               for layer in VALUE_CHAIN_LAYERS},
        })
