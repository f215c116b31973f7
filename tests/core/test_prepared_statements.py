"""On PostgreSQL, a statement an API request runs again and again is prepared on the server and
planned once (DATABASE_PREPARE_THRESHOLD); its answers stay those of a statement planned each
time, pages plan theirs each time, and no statement has more parameters than one bound on the
server may have."""

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.settings.base import _prepare_threshold
from registry.models import UseCase
from tests.api.test_api_queries import token_client
from tests.factories import DecisionFactory, PersonFactory, UseCaseFactory

pytestmark = pytest.mark.django_db


def test_the_threshold_is_a_whole_number_or_empty_for_none():
    assert _prepare_threshold("5") == 5
    assert _prepare_threshold(" 0 ") == 0
    assert _prepare_threshold("") is None
    assert _prepare_threshold("  ") is None
    for garbage in ("-1", "five", "2.5", "5;"):
        with pytest.raises(ImproperlyConfigured, match=f"DATABASE_PREPARE_THRESHOLD: {garbage!r} is not a whole number"):
            _prepare_threshold(garbage)


def _prepared_use_case_details() -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                       "WHERE statement LIKE 'SELECT \"registry_usecase\".\"id\"%%' "
                       "AND statement LIKE '%%WHERE \"registry_usecase\".\"id\" = $%% LIMIT 21'")
        return cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statements are prepared on PostgreSQL only")
def test_a_detail_read_again_and_again_is_planned_once_and_answers_each_use_case(program_office_user):
    assert settings.PREPARE_THRESHOLD is not None, "the default prepares statements"
    client = token_client(program_office_user)
    use_cases = UseCaseFactory.create_batch(settings.PREPARE_THRESHOLD + 12)

    answers = {use_case.pk: client.get(f"/api/use-cases/{use_case.pk}/").json() for use_case in use_cases}

    assert {pk: (answer["id"], answer["title"]) for pk, answer in answers.items()} == {
        use_case.pk: (use_case.pk, use_case.title) for use_case in use_cases}
    # PostgreSQL plans a prepared statement for its first five values, then keeps one plan.
    [(generic_plans, custom_plans)] = _prepared_use_case_details()
    assert custom_plans == 5 and generic_plans == len(use_cases) - settings.PREPARE_THRESHOLD - custom_plans


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statements are prepared on PostgreSQL only")
def test_a_page_read_again_and_again_is_planned_for_its_values_each_time(client, program_office_user):
    """Pages plan each statement for its values (an owner's decisions decide their plans)."""
    UseCaseFactory.create_batch(3)
    client.force_login(program_office_user)

    for _ in range(settings.PREPARE_THRESHOLD + 12):
        assert client.get("/use-cases/").status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)


def test_a_filter_on_tens_of_thousands_of_ids_answers_and_a_short_one_too():
    """Bound on the server, a statement takes at most 65,535 parameters: a long `__in` list goes
    to PostgreSQL as one array, by the primary key, a foreign key's id or the relation."""
    use_cases = UseCaseFactory.create_batch(3)
    wanted = {use_case.pk for use_case in use_cases}
    unknown = list(range(10**9, 10**9 + 70_000))
    decisions = {use_case.decision_id for use_case in use_cases}

    with CaptureQueriesContext(connection) as long_lists:
        assert set(UseCase.objects.filter(pk__in=[*wanted, *unknown, None]).values_list("pk", flat=True)) == wanted
        assert set(UseCase.objects.filter(decision_id__in=[*decisions, *unknown]).values_list("pk", flat=True)) == wanted
        assert set(UseCase.objects.filter(decision__in=[*unknown, *decisions]).values_list("pk", flat=True)) == wanted
        assert set(UseCase.objects.filter(external_id__in=[*(u.external_id for u in use_cases), *map(str, unknown)])
                   .values_list("pk", flat=True)) == wanted
    with CaptureQueriesContext(connection) as short_list:
        assert set(UseCase.objects.filter(pk__in=[*wanted, 10**9]).values_list("pk", flat=True)) == wanted
        assert not UseCase.objects.filter(pk__in=[None] * 200).exists()

    if connection.vendor == "postgresql":
        assert all("= ANY(" in query["sql"] for query in long_lists.captured_queries)
        assert " IN (" in short_list.captured_queries[0]["sql"]

