"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid and invalid, as the program office (who may
write everything) and as an auditor (who may write nothing), and every answer is judged by
every check schemathesis has (`ALL_CHECKS`, none left out): no server error; status code,
content type, headers and body as the schema documents them; what the schema calls invalid
is refused and what it calls valid is not; a required header left out is refused; and the
rest. The run is bounded: EXAMPLES cases per operation and role, over a thousand per role
(checked by the last test). It may run on PostgreSQL (DATABASE_URL), where offsets and
ranges the database refuses show up.

What a schema cannot state, the configuration says (CONFIG), and nothing more:

- A valid write can still be refused because of the data it meets: an id that names no
  record, a name already taken, a date after today, an ETag that is not the current one.
  Those answers are 400 and 412, documented on the writes; `positive_data_acceptance`
  accepts them there (not on reads: every list parameter is described exactly). So that this
  does not let a schema error through, `positive_write_refused_only_for_its_data` fails a
  valid write whose 400 complains about its shape (a type, a length, a blank, a field).
- A missing If-Match on PUT and PATCH of use cases and decisions is answered 428
  Precondition Required (RFC 6585), the status made for it; `missing_required_header`
  accepts it besides its defaults.
"""

import datetime
import os
from decimal import Decimal

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
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation

from portfolio.models import Finding, ScanRun
from registry.models import (
    BusinessUnit,
    Decision,
    Investment,
    KPIObservation,
    Person,
    Stage,
    StageTransition,
    TransitionSource,
    UseCase,
    Waiver,
)
from tests.factories import FindingFactory, InvestmentFactory, KPIFactory, PersonFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.slow

# More examples, or a random run instead of the fixed one, to look further:
# LAST_MILE_SCHEMATHESIS_EXAMPLES=200 LAST_MILE_SCHEMATHESIS_RANDOM=1
EXAMPLES = int(os.environ.get("LAST_MILE_SCHEMATHESIS_EXAMPLES", "20"))
DERANDOMIZE = not os.environ.get("LAST_MILE_SCHEMATHESIS_RANDOM")
ROLES = ["program_office", "auditor"]
load_all_checks()
ALL_CHECKS = CHECKS.get_all()

DEFAULT_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # positive_data_acceptance's own
DEFAULT_MISSING_HEADER = ["400", "401", "403", "406", "415", "422"]  # missing_required_header's own
CONFIG = {
    "checks": {"missing_required_header": {"expected-statuses": [*DEFAULT_MISSING_HEADER, "428"]}},
    "operations": [{
        "include-method": ["POST", "PUT", "PATCH"],
        "checks": {"positive_data_acceptance": {"expected-statuses": [*DEFAULT_ACCEPTED, "400", "412"]}},
    }],
}
# What a 400 says when the request itself is malformed (DRF's and the API's own wording).
SHAPE_COMPLAINTS = (
    "Unknown field", "Read-only", "This field is required", "Not a valid string", "A valid integer is required",
    "Must be a valid boolean", "is not a valid choice", "Expected a list", "Ensure this field has",
    "Ensure this value is", "Enter a valid email", "may not be blank", "may not be null", "Null characters",
    "Incorrect type", "A number written as a string", "Date has wrong format", "Invalid data. Expected",
    "may not be empty", "Ensure that there are no more", "Give true or false", "Give a value", "Give this parameter once",
    "Give one whole number", "A date and time with its UTC offset",
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(),
                                        config=SchemathesisConfig.from_dict(CONFIG))


def _messages(body) -> list[str]:
    if isinstance(body, dict):
        return [m for value in body.values() for m in _messages(value)]
    if isinstance(body, list):
        return [m for value in body for m in _messages(value)]
    return [str(body)]


def positive_write_refused_only_for_its_data(ctx, response, case):
    """A request the schema calls valid is never refused for its shape."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    shape = [m for m in _messages(response.json()) if any(c in m for c in SHAPE_COMPLAINTS)]
    if shape:
        raise Failure(operation=case.operation.label, title="Schema-valid request refused for its shape",
                      message="; ".join(shape)[:500])
    return None
OPERATIONS = {(op.method.upper(), op.path) for op in (result.ok() for result in schema.get_all_operations())}
# Cases of the documented operations, and all requests (with the coverage phase's probes of
# methods an operation does not have, which must be a 405 with an Allow header).
ran = {role: {"cases": 0, "requests": 0, "operations": set()} for role in ROLES}


@pytest.fixture(params=ROLES)
def role_token(request, db):
    # Real rows of every kind, answered in lists and details: a registered use case's first
    # transition (from_stage ""), KPI observations, a scan run, people with and without a unit.
    for n in range(3):
        kpi = KPIFactory(use_case=UseCaseFactory())
        StageTransition.objects.create(use_case=kpi.use_case, from_stage="", to_stage=Stage.PROPOSED,
                                       source=TransitionSource.API)
        KPIObservation.objects.create(kpi=kpi, observed_on=datetime.date(2026, 1, 1 + n), value=Decimal("0.25"))
        FindingFactory(use_cases=[kpi.use_case])
        InvestmentFactory(use_case=kpi.use_case)
        Waiver.objects.create(use_case=kpi.use_case, practice="appeal_process", justification="No appeal route yet.",
                              granted_on=datetime.date(2026, 1, 1), expires_on=datetime.date(2027, 1, 1 + n))
    PersonFactory(business_unit=None)
    ScanRun.objects.create(kinds=["stalled_pilot"], as_of=datetime.date(2026, 1, 1))
    Group.objects.get_or_create(name=request.param)  # after a transactional test emptied the tables
    user = UserFactory(username=f"schemathesis-{request.param}", groups=[request.param])
    return request.param, Token.objects.create(user=user).key


# The records behind each detail path: half of the valid cases of a detail operation are sent
# to one that exists (a drawn id seldom does), so edits, moves and answers are exercised too.
RECORDS = {
    "/api/business-units/": BusinessUnit, "/api/people/": Person, "/api/decisions/": Decision,
    "/api/use-cases/": UseCase, "/api/kpi-observations/": KPIObservation,
    "/api/stage-transitions/": StageTransition, "/api/findings/": Finding, "/api/scan-runs/": ScanRun,
    "/api/waivers/": Waiver, "/api/investments/": Investment,
}


def _aim_at_a_record(case, count: int) -> None:
    if "id" not in (case.path_parameters or {}) or count % 2 or case.meta is None:
        return
    if case.meta.is_negative_at(ParameterLocation.PATH):
        return
    model = next(m for prefix, m in RECORDS.items() if case.path.startswith(prefix))
    ids = sorted(model.objects.values_list("pk", flat=True))
    if ids:
        case.path_parameters["id"] = ids[count // 2 % len(ids)]


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


def test_every_check_schemathesis_has_is_run():
    names = {check.__name__ for check in ALL_CHECKS}
    assert {"not_a_server_error", "status_code_conformance", "content_type_conformance",
            "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
            "positive_data_acceptance", "missing_required_header", "unsupported_method",
            "allow_header_conformance", "use_after_free", "ensure_resource_availability", "ignored_auth",
            "object_level_authorization"} <= names


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                     suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_api_never_errs_and_keeps_to_its_schema(case, role_token):
    role, token = role_token
    ran[role]["requests"] += 1
    _aim_at_a_record(case, ran[role]["requests"])
    if (case.method.upper(), case.path) in OPERATIONS:
        ran[role]["cases"] += 1
        ran[role]["operations"].add((case.method.upper(), case.path))
    case.call_and_validate(headers={"Authorization": f"Token {token}"},
                           checks=[*ALL_CHECKS, positive_write_refused_only_for_its_data])


@pytest.mark.parametrize("role", ROLES)
def test_the_run_covered_every_operation_with_over_a_thousand_cases(role):
    if not ran[role]["operations"]:
        pytest.skip("run together with the generated tests above")
    assert ran[role]["operations"] == OPERATIONS
    print(f"\nschemathesis as {role}: {ran[role]['cases']} cases over the {len(OPERATIONS)} operations "
          f"({ran[role]['requests']} requests with the probes of other methods)")
    assert ran[role]["cases"] >= 1000, ran[role]["cases"]
