"""Model validation: every rule of the model judged, its check constraints in one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import InvalidInput
from core.validation import validated
from tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db


def test_a_broken_check_constraint_is_refused_with_its_message():
    use_case = UseCaseFactory()
    use_case.external_id, use_case.version = "", 0

    with pytest.raises(InvalidInput) as refused:
        validated(use_case)

    messages = " ".join(str(message) for messages in refused.value.errors.values() for message in messages)
    assert "registry_usecase_external_id_not_blank" in messages
    assert "registry_usecase_version_positive" in messages


def test_a_constraint_on_an_excluded_field_is_not_judged():
    use_case = UseCaseFactory()
    use_case.version = 0

    validated(use_case, exclude=["version"])


def test_every_check_constraint_is_judged_in_one_query():
    use_case = UseCaseFactory()

    with CaptureQueriesContext(connection) as queries:
        validated(use_case)

    checks = [q["sql"] for q in queries.captured_queries if '"check_' in q["sql"]]
    assert len(checks) == 1 and checks[0].count("AS \"check_") >= 5
    assert not [q for q in queries.captured_queries if "_check" in q["sql"] and "EXISTS" not in q["sql"]]


def test_a_foreign_key_the_row_already_holds_is_not_looked_up_again():
    use_case = UseCaseFactory()
    stored = type(use_case).objects.get(pk=use_case.pk)

    with CaptureQueriesContext(connection) as queries:
        validated(use_case, stored=stored)

    assert not [q for q in queries.captured_queries if 'SELECT 1 AS "a" FROM "registry_person"' in q["sql"]]


def test_a_changed_foreign_key_to_nothing_is_refused_naming_the_field():
    use_case = UseCaseFactory()
    stored = type(use_case).objects.get(pk=use_case.pk)
    use_case.business_owner_id = 10**9

    with pytest.raises(InvalidInput) as refused:
        validated(use_case, stored=stored)

    assert "business_owner" in refused.value.errors


def test_only_the_check_constraints_on_changed_fields_are_judged_against_the_stored_row():
    """The stored row keeps every check on fields the edit leaves alone: an edit of a text
    judges none (no query); a changed field's checks are judged and refused as ever."""
    use_case = UseCaseFactory()
    stored = type(use_case).objects.get(pk=use_case.pk)
    use_case.monitoring_plan = "Weekly drift report."

    with CaptureQueriesContext(connection) as queries:
        validated(use_case, stored=stored)
    assert not [q for q in queries.captured_queries if '"check_' in q["sql"]]

    use_case.external_id = ""
    with pytest.raises(InvalidInput) as refused:
        validated(use_case, stored=stored)
    messages = " ".join(str(message) for messages in refused.value.errors.values() for message in messages)
    assert "registry_usecase_external_id_not_blank" in messages
