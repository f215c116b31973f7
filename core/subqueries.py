"""Reading a has-many relation inside the row that owns it, rather than in a query of its own."""

from __future__ import annotations

from django.db.models import JSONField, QuerySet, Subquery

LISTED = "listed_value"


class ListedValues(Subquery):
    """The values of the one column `queryset` selects (as `values(listed_value=...)`), in its
    order, as a list: one column of the outer row instead of one more query per request."""

    output_field = JSONField()

    def __init__(self, queryset: QuerySet, **extra):
        if list(queryset.query.annotation_select) != [LISTED] and list(queryset.query.values_select) != [LISTED]:
            raise TypeError(f"ListedValues reads a queryset of .values({LISTED}=...) only.")
        super().__init__(queryset, **extra)

    def as_sql(self, compiler, connection, template=None, **extra_context):
        return super().as_sql(compiler, connection, template=(
            f"(SELECT COALESCE(jsonb_agg(listed.{LISTED}), '[]'::jsonb) FROM (%(subquery)s) listed)"
        ), **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template=(
            f"(SELECT json_group_array(listed.{LISTED}) FROM (%(subquery)s) listed)"
        ), **extra_context)
