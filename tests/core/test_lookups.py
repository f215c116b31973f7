"""AnyOf: a column equal to any of many values, as an IN of those values would be."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.lookups import AnyOf
from registry.models import Decision
from tests.factories import DecisionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("how_many", [0, 1, 3, 600])
def test_any_of_finds_what_an_in_finds(how_many):
    decisions = DecisionFactory.create_batch(4)
    ids = [decision.pk for decision in decisions[:min(how_many, 3)]] + list(range(10**9, 10**9 + max(0, how_many - 3)))

    assert (set(Decision.objects.filter(AnyOf("id", ids)).values_list("pk", flat=True))
            == set(Decision.objects.filter(pk__in=ids).values_list("pk", flat=True)))


def test_any_of_sends_the_values_as_one_parameter_typed_as_the_column_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("an IN list elsewhere")
    with CaptureQueriesContext(connection) as captured:
        list(Decision.objects.filter(AnyOf("owner_id", [1, 2, 3])))
    sql = captured.captured_queries[0]["sql"]
    assert "\"owner_id\" = ANY('{1,2,3}'" in sql and sql.count("::bigint[])") == 1 and " IN (" not in sql
