"""Factories for registry rows. Complex setups go through the real services instead."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from core.actors import SystemActor

from registry.models import KPI, BusinessUnit, Decision, Frequency, Investment, Person, Readiness, UseCase


class BusinessUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessUnit
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Unit {n}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    business_unit = factory.SubFactory(BusinessUnitFactory)
    active = True


class DecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Decision

    statement = factory.Sequence(lambda n: f"Which invoices are paid early this week? ({n})")
    business_unit = factory.SubFactory(BusinessUnitFactory)
    owner = factory.SubFactory(PersonFactory)
    owner_confirmed_on = factory.LazyFunction(timezone.localdate)
    frequency = Frequency.WEEKLY
    decisions_per_period = 200
    cost_of_error = Decimal("150.00")
    cost_of_delay_per_day = Decimal("400.00")
    execution_point = "ERP payment run"
    current_method = "judgement"


class UseCaseFactory(factory.django.DjangoModelFactory):
    """A proposed use case with owners; tests move it with the lifecycle, not by setting stage."""

    class Meta:
        model = UseCase
        skip_postgeneration_save = True

    decision = factory.SubFactory(DecisionFactory)
    external_id = factory.Sequence(lambda n: f"UC-{n:05d}")
    title = factory.Sequence(lambda n: f"Early payment discount model {n}")
    summary = "Ranks supplier invoices by the value of paying them early."
    capability = "tabular prediction"
    business_unit = factory.SelfAttribute("decision.business_unit")
    business_owner = factory.SubFactory(PersonFactory)
    business_owner_confirmed_on = factory.LazyFunction(timezone.localdate)
    technical_owner = factory.SubFactory(PersonFactory)
    technical_owner_confirmed_on = factory.LazyFunction(timezone.localdate)
    data_readiness = Readiness.NONE


class ProductionReadyUseCaseFactory(UseCaseFactory):
    """Meets every gate up to production; a KPI with baseline and target is added after creation."""

    data_readiness = Readiness.READY
    infrastructure_readiness = Readiness.PARTIAL
    model_readiness = Readiness.READY
    orchestration_readiness = Readiness.PARTIAL
    inference_readiness = Readiness.PARTIAL
    monitoring_plan = "Weekly drift report; alert when the capture rate falls 10% under baseline."
    kpi = factory.RelatedFactory(
        "tests.factories.KPIFactory", factory_related_name="use_case", baseline=Decimal("0.12"), target=Decimal("0.30")
    )


class KPIFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KPI

    use_case = factory.SubFactory(UseCaseFactory)
    name = factory.Sequence(lambda n: f"Early payment discount captured {n}")
    unit = "%"
    direction = "higher"
    baseline = None
    target = None


class InvestmentFactory(factory.django.DjangoModelFactory):
    """One quarter's planned and spent money on one layer of a use case."""

    class Meta:
        model = Investment

    use_case = factory.SubFactory(UseCaseFactory)
    layer = "model"
    period_start = datetime.date(2026, 1, 1)
    period_end = datetime.date(2026, 3, 31)
    planned = Decimal("100000.00")
    spent = Decimal("80000.00")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")
    is_staff = True

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))
        if create:
            self.save()


# Added with the REST API -------------------------------------------------------------------------


class FindingFactory(factory.django.DjangoModelFactory):
    """An open finding; pass use_cases=[...] or decisions=[...] to say what it concerns."""

    class Meta:
        model = "portfolio.Finding"
        skip_postgeneration_save = True

    kind = "stalled_pilot"
    fingerprint = factory.Sequence(lambda n: f"test-fingerprint-{n:06d}")
    substance = "same"
    severity = "medium"
    status = "open"
    title = factory.Sequence(lambda n: f"Pilot stalled for a while ({n})")
    first_seen = factory.LazyFunction(timezone.localdate)
    last_seen = factory.LazyFunction(timezone.localdate)

    @factory.post_generation
    def use_cases(self, create, extracted, **kwargs):
        if create and extracted:
            self.use_cases.set(extracted)

    @factory.post_generation
    def decisions(self, create, extracted, **kwargs):
        if create and extracted:
            self.decisions.set(extracted)


# The tests' own system actor: what tests set up is not what they test the rights of.
TEST_ACTOR = SystemActor("tests")


# Added with gate sign-offs -------------------------------------------------------------------------


def gatekeeper():
    """A program office login that owns nothing: who signs gates off in tests about something else."""
    return UserFactory(username="gatekeeper", groups=["program_office"])


def signed_off(use_case, stage, *, by=None, outcome="approved", note="", on=None):
    """Sign off `use_case` entering `stage` through the real service, as `by` (default the
    gatekeeper); tests that move into pilot or production call it right before the move."""
    from registry.services.sign_offs import sign_off

    return sign_off(use_case=use_case, stage=stage, outcome=outcome, note=note, actor=by or gatekeeper(), on=on)
