"""What the API's viewsets share: bounded search, filter backends, ETags on details, history pages."""

from __future__ import annotations

from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, ValidationError
from rest_framework.fields import CharField
from rest_framework.filters import search_smart_split
from rest_framework.response import Response

from registry import access
from registry.selectors.use_cases import contains_all

from .. import selectors
from .. import serializers as s
from ..etag import etag_for
from ..filters import NO_NUL_PATTERN, OrderingFilter, single_value
from ..pagination import PagePagination

MAX_SEARCH_LENGTH = 200


class SearchFilter(filters.SearchFilter):
    """DRF's search with a bounded query: a NUL, an over-long or a repeated query is a 400, at most 10 terms."""

    def get_search_terms(self, request):
        value = single_value(request, self.search_param) or ""
        field = CharField(trim_whitespace=False, allow_blank=True, max_length=MAX_SEARCH_LENGTH)
        try:
            cleaned = field.run_validation(value)
        except ValidationError as error:
            raise ValidationError({self.search_param: error.detail}) from None
        return search_smart_split(cleaned)[:10]

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "string", "maxLength": MAX_SEARCH_LENGTH, "pattern": NO_NUL_PATTERN}
        return parameters

    def filter_queryset(self, request, queryset, view):
        terms = self.get_search_terms(request)  # judged even where nothing is searched: a NUL is a 400 everywhere
        search_fields = self.get_search_fields(view, request)
        if not search_fields:
            return queryset
        # A view whose rows have a search of their own (the use cases') names it as `search_matching`.
        search_matching = getattr(view, "search_matching", None)
        return search_matching(queryset, terms) if search_matching else contains_all(queryset, terms, search_fields)


BACKENDS = [DjangoFilterBackend, SearchFilter, OrderingFilter]


def is_writer(request) -> bool:
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

    def edited_response(self, instance, *, read_version: int, serializer):
        """The answer to an edit of `instance`, loaded by `get_object` at `read_version` and
        validated by `serializer`.

        An edit changes the row and, when it sends them, the friction points (whose set()
        forgets their prefetch): the other relations it prefetched (KPIs, gate facts) still hold, so
        the answer is built from it rather than from the whole detail read again, by the
        serializer that validated the edit (its fields are built already). When someone else
        wrote in between (If-Match `*`), the detail is read again."""
        if instance.version != read_version + 1:
            return self.detail_response(instance)
        data = serializer.to_representation(instance)
        return Response(data, headers={"ETag": etag_for(instance, data)})

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self.get_serializer(instance).data
        etag = etag_for(instance, data)
        if etag in {tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")}:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(data, headers={"ETag": etag})

    def current_etag(self, instance) -> str:
        return etag_for(instance, self.get_serializer(instance).data)


def history_page(view, record):
    paginator = PagePagination()
    page = paginator.paginate_queryset(selectors.history_of(record), view.request, view=view)
    return paginator.get_paginated_response(s.HistoryRecordSerializer(page, many=True).data)


