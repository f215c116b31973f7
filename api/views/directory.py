"""The directory: business units and people, and the directory sync (bulk upsert)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from registry import access
from registry.inventory.directory import upsert_people
from registry.services.directory import business_unit_named, save_person, upsert_person

from .. import selectors
from .. import serializers as s
from ..etag import expected_version
from ..filters import OrderingFilter, PersonFilter
from ..pagination import LargeListPagination
from .common import BACKENDS, DetailETagMixin, SearchFilter


@extend_schema_view(
    list=extend_schema(summary="Business units"),
    retrieve=extend_schema(summary="A business unit"),
    create=extend_schema(summary="Add a business unit (program office)"),
)
class BusinessUnitViewSet(DetailETagMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          mixins.CreateModelMixin, GenericViewSet):
    serializer_class = s.BusinessUnitSerializer
    queryset = selectors.business_units()
    filter_backends = [SearchFilter, OrderingFilter]
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
    update=extend_schema(summary="Update a person (program office)", request=s.PersonUpdateSerializer),
    partial_update=extend_schema(summary="Update some of a person (program office)", request=s.PersonUpdateSerializer),
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
        serializer = self.get_serializer(person, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)  # a malformed body is a 400 whatever the If-Match
        expected = expected_version(request, person, body_version=None, required=False)
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


