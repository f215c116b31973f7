"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid and invalid, as the program office (who may
write everything): no answer may be a server error, and every answer must match the schema
(status code documented, body of the documented shape). The run is bounded: EXAMPLES cases
per operation, over a thousand in all (checked by the last test).
"""

import pytest
import schemathesis
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import FindingFactory, KPIFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.slow

EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
ran = {"cases": 0, "operations": set()}


@pytest.fixture
def office_token(db):
    # A few real rows, so some generated ids (small numbers) meet something.
    for _ in range(3):
        FindingFactory(use_cases=[KPIFactory(use_case=UseCaseFactory()).use_case])
    Group.objects.get_or_create(name="program_office")  # after a transactional test emptied the tables
    return Token.objects.create(user=UserFactory(username="schemathesis", groups=["program_office"])).key


@pytest.fixture(autouse=True)
def _unthrottled():
    # Thousands of requests in a minute are this test's point, not abuse.
    rates = {"anon": "1000000/minute", "user": "1000000/minute"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        yield
    cache.clear()


@pytest.fixture(autouse=True)
def _connection_kept_across_requests():
    # As Django's test client does: the WSGI handler would close the test's connection (and
    # its transaction) after each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from unittest import mock

    monkeypatch.setattr("portfolio.tasks.run_queued_scan.apply_async", mock.Mock(return_value=mock.Mock(id="t")))


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_api_never_errs_and_keeps_to_its_schema(case, office_token):
    ran["cases"] += 1
    ran["operations"].add((case.method, case.path))
    case.call_and_validate(headers={"Authorization": f"Token {office_token}"}, checks=CHECKS)


def test_the_run_covered_every_operation_with_over_a_thousand_cases():
    operations = {(op.method.upper(), op.path) for op in (result.ok() for result in schema.get_all_operations())}
    if not ran["operations"]:
        pytest.skip("run together with the generated tests above")
    assert operations <= {(m.upper(), p) for m, p in ran["operations"]}
    print(f"\nschemathesis: {ran['cases']} generated requests over {len(ran['operations'])} method/path pairs")
    assert ran["cases"] >= 1000, ran["cases"]
