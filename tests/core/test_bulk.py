"""Set-based writes: what they write is what bulk_update would have written, whichever way."""

import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection

from core.bulk import JSONText, bulk_update_fields, insert_rows
from portfolio.models import Finding

pytestmark = pytest.mark.django_db


def findings(count: int) -> list[Finding]:
    return [Finding.objects.create(kind="stalled_pilot", fingerprint=f"f{n}", substance="s", severity="low",
                                   title=f"Finding {n}", detail={"n": n}, first_seen="2026-11-02",
                                   last_seen="2026-11-02") for n in range(count)]


@pytest.mark.parametrize("batch_size", [100, 2], ids=["one statement", "through a staging table"])
def test_bulk_update_writes_every_field_of_every_row(batch_size):
    written = findings(5)
    rows = [SimpleNamespace(pk=f.pk, title=f"Rewritten {f.pk}", detail={"n": f.pk, "note": "it's \"quoted\"\ttab"},
                            price=Decimal("1234.50") if f.pk % 2 else None, last_seen="2026-11-03")
            for f in written]

    bulk_update_fields(rows, ["title", "detail", "price", "last_seen"], model=Finding, batch_size=batch_size)

    for row in rows:
        finding = Finding.objects.get(pk=row.pk)
        assert (finding.title, finding.detail, finding.price, finding.last_seen.isoformat()) == (
            row.title, row.detail, row.price, "2026-11-03")


def test_bulk_update_leaves_other_rows_and_fields_alone():
    kept, *changed = findings(3)

    bulk_update_fields([SimpleNamespace(pk=f.pk, title="Rewritten") for f in changed], ["title"], model=Finding,
                       batch_size=1)

    assert Finding.objects.get(pk=kept.pk).title == "Finding 0"
    assert [(f.title, f.detail) for f in Finding.objects.filter(pk__in=[f.pk for f in changed]).order_by("pk")] == [
        ("Rewritten", {"n": 1}), ("Rewritten", {"n": 2})]


@pytest.mark.parametrize("batch_size", [100, 2], ids=["one statement", "through a staging table"])
def test_json_already_dumped_is_written_as_the_value_it_dumps_not_as_a_string(batch_size):
    detail = {"members": ["FIN-001", "HR-002"], "note": "it's \"quoted\"\tand ø", "days": 212}
    [pk] = insert_rows(Finding, [("stalled_pilot", "f", "s", "low", "T", JSONText(json.dumps(detail)), "2026-11-02",
                                  "2026-11-02")],
                       columns=("kind", "fingerprint", "substance", "severity", "title", "detail", "first_seen",
                                "last_seen"), returning_ids=True)
    assert Finding.objects.get(pk=pk).detail == detail

    others = findings(2)
    rewritten = {"members": ["FIN-001"], "price_note": None}
    bulk_update_fields([SimpleNamespace(pk=f.pk, detail=JSONText(json.dumps(rewritten)), price_by_layer=None)
                        for f in [Finding.objects.get(pk=pk), *others]],
                       ["detail", "price_by_layer"], model=Finding, batch_size=batch_size)

    assert [f.detail for f in Finding.objects.order_by("pk")] == [rewritten] * 3
    assert Finding.objects.filter(detail__members__0="FIN-001").count() == 3, "stored as JSON, queryable by key"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite binds no parameter on a server")
def test_a_bulk_update_of_more_values_than_a_statement_may_bind_is_written_whole():
    """22,000 rows of two fields and their ids, asked for in one statement: 66,000 parameters, more
    than a statement bound on the server may have (DATABASE_PREPARE_THRESHOLD)."""
    ids = insert_rows(Finding, [("stalled_pilot", f"f{n}", "s", "low", f"Finding {n}", JSONText("{}"), "2026-11-02",
                                 "2026-11-02") for n in range(22_000)],
                      columns=("kind", "fingerprint", "substance", "severity", "title", "detail", "first_seen",
                               "last_seen"), returning_ids=True)

    bulk_update_fields([SimpleNamespace(pk=pk, title=f"Rewritten {pk}", last_seen="2026-11-03") for pk in ids],
                       ["title", "last_seen"], model=Finding, batch_size=30_000)

    assert Finding.objects.filter(last_seen="2026-11-03").count() == 22_000
    assert Finding.objects.get(pk=ids[-1]).title == f"Rewritten {ids[-1]}"
