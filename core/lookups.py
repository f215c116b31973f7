"""A column equal to any of many values, the values sent as one array."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, Lookup


class AnyOf(Lookup):
    """`AnyOf("decision_id", ids)`, a filter: the column is one of `ids`. Django's `__in`
    prepares each value and binds it as a parameter of its own: for an owner's 500 decisions at
    100,000 use cases a query took 32 ms, against 3 ms with `= ANY(array)` on PostgreSQL. Other
    databases (SQLite) get an IN list."""

    lookup_name = "any_of"
    prepare_rhs = False

    def __init__(self, column: str, values: Iterable[int]):
        super().__init__(F(column), list(values))

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # Typed as the column, as an IN list is: psycopg would send small ids as smallint[],
        # which the planner costs differently (a parallel plan, three times slower).
        return f"{lhs} = ANY(%s::{self.lhs.output_field.cast_db_type(connection)}[])", [*lhs_params, self.rhs]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*lhs_params, *self.rhs]
