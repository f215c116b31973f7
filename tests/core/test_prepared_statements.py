"""On PostgreSQL, a statement a connection runs again and again is prepared on the server and
planned once (DATABASE_PREPARE_THRESHOLD); its answers stay those of a statement planned each time."""

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from config.settings.base import _prepare_threshold
from tests.api.test_api_queries import token_client
from tests.factories import UseCaseFactory

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
