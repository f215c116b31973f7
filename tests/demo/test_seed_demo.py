"""seed_demo: a realistic demo portfolio, the same for the same seed and date, and its logins."""

import datetime
import io
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.db.models import Q
from django.utils import timezone

from demo.generator import seed_demo_portfolio
from tests.factories import PersonFactory
from registry.gates import ALLOWED_MOVES, BACKWARD_MOVES, GATES
from registry.models import (
    KPI,
    VALUE_CHAIN_LAYERS,
    BusinessUnit,
    Decision,
    KPIObservation,
    Person,
    Stage,
    StageTransition,
    TransitionSource,
    UseCase,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 1)
USE_CASES = 200
LOGINS = ("office", "owner", "auditor")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def start_of(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def seed(*args, use_cases=USE_CASES, today=TODAY):
    out = io.StringIO()
    call_command("seed_demo", "--use-cases", str(use_cases), "--today", today.isoformat(), *args,
                 stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def portfolio():
    return seed_demo_portfolio(use_cases=USE_CASES, seed=1, today=TODAY)


def _sorted_rows(queryset, *fields):
    return sorted(tuple(str(value) for value in row) for row in queryset.values_list(*fields))


def portfolio_dump():
    """Every seeded value that matters, keyed by natural keys: primary keys differ between runs."""
    readiness = [f"{layer}_readiness" for layer in VALUE_CHAIN_LAYERS]
    return {
        "units": _sorted_rows(BusinessUnit.objects, "name", "created_at"),
        "people": _sorted_rows(Person.objects, "email", "name", "business_unit__name", "active", "created_at"),
        "decisions": _sorted_rows(
            Decision.objects, "business_unit__name", "statement", "owner__email", "owner_confirmed_on", "frequency",
            "decisions_per_period", "cost_of_error", "cost_of_delay_per_day", "execution_point", "current_method",
            "created_at", "updated_at",
        ),
        "use_cases": _sorted_rows(
            UseCase.objects, "external_id", "decision__statement", "title", "summary", "capability",
            "business_unit__name", "business_owner__email", "business_owner_confirmed_on", "technical_owner__email",
            "technical_owner_confirmed_on", "stage", "stage_entered_on", *readiness, "expected_annual_value",
            "monitoring_plan", "version", "created_at", "updated_at",
        ),
        "friction_points": _sorted_rows(UseCase.friction_points.through.objects, "usecase__external_id", "frictionpoint_id"),
        "transitions": _sorted_rows(
            StageTransition.objects, "use_case__external_id", "from_stage", "to_stage", "occurred_at", "source", "reason"
        ),
        "kpis": _sorted_rows(
            KPI.objects, "use_case__external_id", "name", "unit", "direction", "baseline", "target", "created_at"
        ),
        "observations": _sorted_rows(
            KPIObservation.objects, "kpi__use_case__external_id", "kpi__name", "observed_on", "value", "recorded_at", "source"
        ),
        "people_history": _sorted_rows(
            Person.history, "email", "active", "history_type", "history_date", "history_change_reason"
        ),
        "use_case_history": _sorted_rows(UseCase.history, "external_id", "stage", "version", "history_type", "history_date"),
        "decision_history": _sorted_rows(Decision.history, "statement", "owner__email", "history_type", "history_date"),
        "logins": _sorted_rows(User.objects.filter(username__in=LOGINS), "username", "email", "is_staff", "groups__name"),
    }


def test_same_seed_and_date_give_the_same_portfolio():
    seed("--seed", "7")
    first = portfolio_dump()
    seed("--seed", "7", "--reset")
    assert portfolio_dump() == first
    assert len(first["use_cases"]) == USE_CASES


@pytest.mark.slow
def test_another_seed_or_date_gives_another_portfolio():
    seed("--seed", "1")
    first = portfolio_dump()
    seed("--seed", "2", "--reset")
    second = portfolio_dump()
    assert second["people"] != first["people"]
    assert second["use_cases"] != first["use_cases"]
    seed("--seed", "1", "--reset", today=TODAY + datetime.timedelta(days=30))
    assert portfolio_dump()["transitions"] != first["transitions"]


def test_the_portfolio_spans_real_business_units_and_decisions(portfolio):
    units = set(BusinessUnit.objects.values_list("name", flat=True))
    assert len(units) >= 8
    assert {"Finance", "Customer Service", "Marketing", "Supply Chain", "Human Resources", "Risk & Compliance",
            "IT Operations", "Sales"} <= units
    statements = list(Decision.objects.values_list("statement", flat=True))
    assert all(statement.endswith("?") for statement in statements)
    assert not Decision.objects.filter(
        Q(frequency="") | Q(decisions_per_period__isnull=True) | Q(cost_of_error__isnull=True)
        | Q(cost_of_delay_per_day__isnull=True) | Q(execution_point="") | Q(current_method="")
    ).exists()
    assert all(UseCase.objects.filter(business_unit__name=unit).exists() for unit in units)


def test_some_people_have_left_and_still_own_things(portfolio):
    people = Person.objects.count()
    left = Person.objects.filter(active=False)
    assert 0.03 * people <= left.count() <= 0.15 * people
    assert Decision.objects.filter(owner__in=left).exists() or UseCase.objects.filter(business_owner__in=left).exists()
    assert UseCase.objects.filter(technical_owner__in=left).exists() or UseCase.objects.filter(business_owner__in=left).exists()
    # The directory history shows when each of them left, after they joined.
    for person in left:
        joined, departed = person.history.order_by("history_date")
        assert (joined.history_type, joined.active) == ("+", True)
        assert (departed.history_type, departed.active) == ("~", False)
        assert joined.history_date < departed.history_date < start_of(TODAY)


def test_the_situations_the_scans_look_for_are_there(portfolio):
    long_ago = TODAY - datetime.timedelta(days=90)
    long_pilots = UseCase.objects.filter(stage=Stage.PILOT, stage_entered_on__lt=long_ago)
    quiet_pilots = long_pilots.exclude(kpis__observations__observed_on__gte=TODAY - datetime.timedelta(days=60))
    assert quiet_pilots.filter(updated_at__lt=start_of(long_ago)).exists()

    capabilities_across_units = Counter(
        capability for capability, _ in UseCase.objects.values_list("capability", "business_unit").distinct()
    )
    assert capabilities_across_units["conversational FAQ assistant"] >= 3
    assert capabilities_across_units["document data extraction"] >= 2
    invoice_units = set(UseCase.objects.filter(title__icontains="invoice", capability="document data extraction")
                        .values_list("business_unit__name", flat=True))
    assert {"Finance", "Procurement"} <= invoice_units

    assert Decision.objects.filter(owner_confirmed_on__lt=TODAY - datetime.timedelta(days=180)).exists()
    assert UseCase.objects.filter(stage=Stage.PRODUCTION, technical_owner__isnull=True).exists()
    mailbox_owned = (UseCase.objects.filter(technical_owner__email__regex=r"^(ai-team|info|data-science|analytics)@")
                     | UseCase.objects.filter(business_owner__email__regex=r"^(ai-team|info|data-science|analytics)@"))
    assert mailbox_owned.exists()
    production = UseCase.objects.filter(stage=Stage.PRODUCTION)
    assert production.exclude(kpis__observations__observed_on__gte=TODAY - datetime.timedelta(days=90)).exists()


def test_every_stage_history_is_consistent(portfolio):
    end_of_history = start_of(TODAY)
    use_cases = UseCase.objects.prefetch_related("transitions")
    for use_case in use_cases:
        transitions = sorted(use_case.transitions.all(), key=lambda t: t.occurred_at)
        first, last = transitions[0], transitions[-1]
        assert (first.from_stage, first.to_stage) == ("", Stage.PROPOSED), use_case
        assert last.to_stage == use_case.stage, use_case
        assert timezone.localdate(last.occurred_at) == use_case.stage_entered_on, use_case
        assert use_case.created_at == first.occurred_at <= use_case.updated_at < end_of_history
        for before, after in zip(transitions, transitions[1:]):
            assert before.occurred_at < after.occurred_at, use_case
            assert after.from_stage == before.to_stage, use_case
            assert (after.from_stage, after.to_stage) in ALLOWED_MOVES, use_case
            if (after.from_stage, after.to_stage) in BACKWARD_MOVES or after.to_stage == Stage.RETIRED:
                assert after.reason, use_case
        assert all(t.source == TransitionSource.DEMO and t.occurred_at < end_of_history for t in transitions)
        assert use_case.version >= len(transitions)
    moved_back = StageTransition.objects.filter(
        from_stage=Stage.PILOT, to_stage=Stage.VALIDATING
    ) | StageTransition.objects.filter(from_stage=Stage.PRODUCTION, to_stage=Stage.PILOT)
    assert moved_back.exists()
    assert UseCase.objects.filter(stage=Stage.RETIRED).exists()


def test_readiness_and_gates_match_the_stage(portfolio):
    beyond_validation = UseCase.objects.filter(stage__in=[Stage.PILOT, Stage.PRODUCTION]).select_related(
        "decision", "business_owner", "technical_owner").prefetch_related("kpis")
    assert all(not GATES[Stage.PILOT](use_case) for use_case in beyond_validation)
    production = [use_case for use_case in beyond_validation if use_case.stage == Stage.PRODUCTION]
    meeting_the_gate = [use_case for use_case in production if not GATES[Stage.PRODUCTION](use_case)]
    assert 0.6 * len(production) <= len(meeting_the_gate) < len(production)
    proposed = UseCase.objects.filter(stage=Stage.PROPOSED)
    assert not proposed.filter(model_readiness__in=["partial", "ready"]).exists()
    assert not proposed.exclude(inference_readiness="none").exists()


def test_pilots_and_production_have_kpis_with_dated_observations(portfolio):
    measured = UseCase.objects.filter(stage__in=[Stage.PILOT, Stage.PRODUCTION])
    assert not measured.filter(kpis__isnull=True).exists()
    assert not KPI.objects.filter(use_case__in=measured, baseline__isnull=True).exists()
    assert not KPI.objects.filter(use_case__stage=Stage.PRODUCTION, target__isnull=True).exists()
    observations = KPIObservation.objects.filter(kpi__use_case__in=measured)
    assert observations.count() > measured.count()
    assert not KPIObservation.objects.filter(observed_on__gte=TODAY).exists()
    assert not KPIObservation.objects.exclude(source=TransitionSource.DEMO).exists()
    assert not KPIObservation.objects.filter(kpi__use_case__stage=Stage.PROPOSED).exists()


def test_production_kpis_are_priced_and_some_realise_value_and_some_do_not(portfolio):
    from registry.selectors.value import realised_values

    production = UseCase.objects.filter(stage=Stage.PRODUCTION, expected_annual_value__isnull=False)
    assert not KPI.objects.filter(use_case__in=production, value_per_unit__isnull=True).exists()
    realised = [value for value in realised_values(production.values_list("pk", flat=True)).values() if value is not None]
    assert any(value > 0 for value in realised) and any(value <= 0 for value in realised)


def test_use_cases_from_validation_on_record_investment_and_some_units_spend_lopsided(portfolio):
    from django.db.models import Sum

    from registry.models import Investment

    invested = UseCase.objects.filter(stage__in=[Stage.PILOT, Stage.PRODUCTION])
    assert not invested.exclude(investments__isnull=False).exists()
    assert not Investment.objects.filter(use_case__stage=Stage.PROPOSED).exists()
    spent = Counter()
    for unit, layer, total in Investment.objects.values_list("use_case__business_unit__name", "layer").annotate(
            total=Sum("spent")):
        spent[(unit, layer)] = total
    units = {unit for unit, _ in spent}
    model_heavy = {unit for unit in units
                   if spent[(unit, "model")] + spent[(unit, "infrastructure")] > 3 * spent[(unit, "data")]}
    assert model_heavy and model_heavy != units


def test_every_seeded_row_has_a_creation_record_in_its_history(portfolio):
    for model in (BusinessUnit, Person, Decision, UseCase, KPI, KPIObservation):
        created = model.history.filter(history_type="+")
        assert created.count() == model.objects.count(), model
        assert set(created.values_list("history_change_reason", flat=True)) == {"demo data"}, model
    with_friction = UseCase.objects.filter(friction_points__isnull=False).distinct()
    assert with_friction.exists()
    for use_case in with_friction:
        record = use_case.history.get()
        assert {link.frictionpoint_id for link in record.friction_points.all()} == set(
            use_case.friction_points.values_list("code", flat=True))


def test_the_three_demo_logins_reach_the_admin(client, portfolio):
    for username, role in (("office", "program_office"), ("owner", "business_owner"), ("auditor", "auditor")):
        user = User.objects.get(username=username)
        assert user.is_staff and not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert Person.objects.filter(email=user.email, active=True).exists()
        # django-axes checks every sign-in against its request: the test client's login has none.
        assert client.login(request=HttpRequest(), username=username, password="lastmile-demo")
        assert client.get("/admin/").status_code == 200
        client.logout()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and client.login(request=HttpRequest(), username="admin", password="lastmile-demo")
    assert client.get("/admin/auth/user/add/").status_code == 200 and client.get("/people/").status_code == 200
    client.logout()
    owner = Person.objects.get(email=User.objects.get(username="owner").email)
    assert owner.owned_decisions.count() >= 2
    assert UseCase.objects.filter(decision__owner=owner).count() + owner.business_owned_use_cases.count() >= 3


def test_the_command_prints_counts_and_logins():
    output = seed("--seed", "3")
    assert f"{USE_CASES:>9,}  use cases" in output
    assert 'Demo logins (password "lastmile-demo")' in output
    for username in (*LOGINS, "admin"):
        email = User.objects.get(username=username).email
        assert f"{username} " in output and email in output


def test_seeding_refuses_a_registry_that_holds_data_unless_reset():
    seed()
    before = portfolio_dump()
    with pytest.raises(CommandError, match="--reset"):
        seed("--seed", "2")
    assert portfolio_dump() == before

    seed("--seed", "2", "--reset")
    assert UseCase.objects.count() == USE_CASES
    assert UseCase.history.count() == USE_CASES
    assert StageTransition.objects.filter(use_case__isnull=True).count() == 0
    assert User.objects.filter(username__in=LOGINS).count() == 3


def test_if_empty_keeps_a_registry_that_holds_anything(db):
    PersonFactory(email="imported.first@example.com")

    output = seed("--if-empty")

    assert "already holds data: keeping it" in output
    assert not UseCase.objects.exists()


def test_if_empty_seeds_an_empty_registry(db):
    seed("--if-empty")

    assert UseCase.objects.count() == USE_CASES


def test_reset_clears_rows_the_product_wrote_too(portfolio):
    use_case = UseCase.objects.filter(stage=Stage.PILOT).first()
    KPIObservation.objects.create(kpi=use_case.kpis.first(), observed_on=TODAY, value=1)
    seed("--reset")
    assert KPIObservation.objects.filter(observed_on=TODAY).count() == 0
    assert Person.history.filter(history_type="-").count() == 0


@pytest.mark.parametrize("arguments, message", [
    (["--use-cases", "0"], "at least 1"),
    (["--use-cases", "many"], "not a whole number"),
    (["--today", "01/03/2026"], "YYYY-MM-DD"),
])
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *arguments, stdout=io.StringIO(), stderr=io.StringIO())
    assert not UseCase.objects.exists()


def test_progress_is_reported_per_chunk(db):
    written = []
    seed_demo_portfolio(use_cases=USE_CASES, seed=1, today=TODAY, progress=written.append)
    assert sum(written) == USE_CASES


def test_every_move_into_pilot_or_production_was_signed_off_by_someone_who_owns_none_of_it(portfolio):
    from registry.models import SignOff

    forward = StageTransition.objects.filter(
        Q(from_stage=Stage.VALIDATING, to_stage=Stage.PILOT) | Q(from_stage=Stage.PILOT, to_stage=Stage.PRODUCTION))
    sign_offs = SignOff.objects.select_related("signed_by", "use_case__business_owner", "use_case__technical_owner")
    assert forward.exists()
    assert sign_offs.count() == forward.count()
    for sign_off in sign_offs:
        owners = {owner.email for owner in (sign_off.use_case.business_owner, sign_off.use_case.technical_owner) if owner}
        assert sign_off.outcome == "approved" and sign_off.signed_by.username == "office"
        assert sign_off.signed_by.email not in owners
    assert {"production", "pilot"} <= set(sign_offs.values_list("stage", flat=True))
