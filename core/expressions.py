"""A value written into the SQL statement itself, where PostgreSQL must plan for that value."""

from __future__ import annotations

from django.db.models import Value


class PlannedFor(Value):
    """`value` as a literal of the statement on PostgreSQL (a parameter elsewhere).

    A statement prepared on the server (DATABASE_PREPARE_THRESHOLD) is planned once for every
    value of its parameters. A searched word decides the plan (a word in every row or in none),
    so it goes into the text: each word its own statement, planned for that word. Quoted by
    psycopg as it quotes any value it binds on the client, then its `%` doubled, as a
    statement with parameters needs."""

    def as_postgresql(self, compiler, connection):
        from psycopg import sql  # only PostgreSQL gets here

        if not isinstance(self.value, str):
            return self.as_sql(compiler, connection)
        return sql.Literal(self.value).as_string(None).replace("%", "%%"), []
