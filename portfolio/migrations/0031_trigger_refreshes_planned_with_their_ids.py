"""The three refreshes the link triggers call (finding unit shares, active finding units, urgent
use cases) planned with the ids they are given, not for any array.

As SQL functions their statements were planned once for an array parameter of unknown size.
In a fresh database, whose findings have never been analysed, a first scan that links 81,000
use cases in one statement then got a plan that checks each link against the whole array
(`Filter: usecase_id = ANY ($1)`): minutes of CPU in the COPY, growing with the square of the
portfolio. Run by PL/pgSQL's EXECUTE ... USING, each statement is planned for the ids at hand:
the array is a constant the planner counts, and hashes where it filters on it."""

import importlib

from django.db import migrations

_SHARES = importlib.import_module("portfolio.migrations.0018_finding_unit_shares")
_UNITS = importlib.import_module("portfolio.migrations.0029_active_finding_units")
_URGENT = importlib.import_module("portfolio.migrations.0030_urgent_use_cases")


def _statements(which: str) -> dict[str, list[str]]:
    """Each refresh's statements, for the rows `which` (an SQL condition on an id) picks."""
    return {
        "portfolio_findingunitshare_refresh": [
            f"DELETE FROM portfolio_findingunitshare WHERE finding_id {which}",
            f"{_SHARES._INSERT}{_SHARES._SHARES.format(which=which, money=_SHARES._PG_MONEY)} "
            "ON CONFLICT (finding_id, business_unit_id) DO UPDATE SET share = EXCLUDED.share",
        ],
        "portfolio_activefindingunit_refresh": [
            f"DELETE FROM portfolio_activefindingunit WHERE finding_id {which}",
            _UNITS._INSERT + _UNITS._UNITS.format(which=which),
        ],
        "portfolio_urgentusecase_refresh": [
            f"DELETE FROM portfolio_urgentusecase WHERE use_case_id {which}",
            _URGENT._INSERT + _URGENT._URGENT_USE_CASES.format(which=which),
        ],
    }


def _literal(statement: str) -> str:
    return "'" + statement.replace("'", "''") + "'"


def plan_with_the_ids(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite's triggers refresh a row at a time, with no array
    for function, statements in _statements("= ANY ($1)").items():
        body = " ".join(f"EXECUTE {_literal(statement)} USING touched;" for statement in statements)
        schema_editor.execute(f"CREATE OR REPLACE FUNCTION {function}(touched bigint[]) RETURNS void "
                              f"LANGUAGE plpgsql AS $$ BEGIN {body} END $$", params=None)


def plan_for_any_array(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for function, statements in _statements("= ANY (touched)").items():
        schema_editor.execute(f"CREATE OR REPLACE FUNCTION {function}(touched bigint[]) RETURNS void LANGUAGE sql AS $$ "
                              + "; ".join(statements) + "; $$", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('portfolio', '0030_urgent_use_cases'),
    ]

    operations = [
        migrations.RunPython(plan_with_the_ids, plan_for_any_array),
    ]
