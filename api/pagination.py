"""Pages with a capped size; cursors for the lists that grow large (no COUNT, no OFFSET).

`page_size` is a whole number from 1 (more than 100 gives pages of 100, as ever); anything else
(`null`, `0`, `-5`, `ten`, given twice) is a 400 naming it, not a silently different page; so
is a `page` that is not a page number (a page past the last is a 404). The schema says the same.
"""

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination

MAX_PAGE_SIZE = 100
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class StrictPageSize:
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.getlist(self.page_size_query_param)
        if not raw:
            return self.page_size
        value = raw[-1]
        if len(raw) > 1 or not _WHOLE_NUMBER.fullmatch(value) or int(value) < 1:
            raise ValidationError({self.page_size_query_param: [
                f"Give one whole number from 1 (at most {self.max_page_size} are given; the default is {self.page_size})."
            ]})
        return min(int(value), self.max_page_size)

    def _page_size_parameter(self, parameters):
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "default": self.page_size}
                parameter["description"] = f"Results per page, from 1; more than {self.max_page_size} gives {self.max_page_size}."
        return parameters


class PagePagination(StrictPageSize, PageNumberPagination):
    def get_page_number(self, request, paginator):
        raw = request.query_params.getlist(self.page_query_param)
        if not raw:
            return 1
        if len(raw) > 1 or not _WHOLE_NUMBER.fullmatch(raw[0]) or int(raw[0]) < 1:
            raise ValidationError({self.page_query_param: ["Give one page number, from 1."]})
        return int(raw[0])

    def get_schema_operation_parameters(self, view):
        parameters = self._page_size_parameter(super().get_schema_operation_parameters(view))
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = "A page number (from 1); a page past the last is a 404."
        return parameters


class LargeListPagination(StrictPageSize, CursorPagination):
    ordering = "-id"

    def get_schema_operation_parameters(self, view):
        return self._page_size_parameter(super().get_schema_operation_parameters(view))
