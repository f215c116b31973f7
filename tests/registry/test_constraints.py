"""Invariants the database itself enforces, even for writes that skip forms and services.

Each expected IntegrityError runs in its own `transaction.atomic()` block, so the test's
transaction survives it on PostgreSQL and the test can check that nothing was written.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError

from registry.models import (
    KPI,
    BusinessUnit,
    Decision,
    KPIObservation,
    Person,
    StageTransition,
    UseCase,
)
from registry.services.use_cases import register_use_case
from tests.factories import (
    BusinessUnitFactory,
    DecisionFactory,
    KPIFactory,
    PersonFactory,
    UseCaseFactory,
)
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db


def _unsaved_use_case(**overrides) -> UseCase:
    decision = overrides.pop("decision", None) or DecisionFactory()
    fields = {
        "decision": decision,
        "business_unit": decision.business_unit,
        "title": "Invoice data extraction",
        "external_id": None,
    }
    fields.update(overrides)
    return UseCase(**fields)


# --- use cases ---------------------------------------------------------------------------


def test_use_case_without_decision_cannot_be_saved():
    # given
    use_case = _unsaved_use_case()
    use_case.decision = None

    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        use_case.save()
    assert UseCase.objects.count() == 0


def test_two_use_cases_cannot_share_an_external_id():
    UseCaseFactory(external_id="FIN-007")

    with pytest.raises(IntegrityError), transaction.atomic():
        _unsaved_use_case(external_id="FIN-007").save()
    assert UseCase.objects.filter(external_id="FIN-007").count() == 1


def test_blank_external_id_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        _unsaved_use_case(external_id="").save()
    assert UseCase.objects.count() == 0


def test_many_use_cases_may_have_no_external_id():
    _unsaved_use_case(external_id=None, title="First").save()
    _unsaved_use_case(external_id=None, title="Second").save()

    assert UseCase.objects.filter(external_id__isnull=True).count() == 2


def test_unknown_stage_written_by_queryset_update_is_refused():
    use_case = UseCaseFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        UseCase.objects.filter(pk=use_case.pk).update(stage="launched")
    use_case.refresh_from_db()
    assert use_case.stage == "proposed"


@pytest.mark.parametrize("layer", ["data", "infrastructure", "model", "orchestration", "inference"])
def test_unknown_readiness_is_refused(layer):
    use_case = UseCaseFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        UseCase.objects.filter(pk=use_case.pk).update(**{f"{layer}_readiness": "almost"})
    use_case.refresh_from_db()
    assert use_case.readiness(layer) == "none"


def test_negative_expected_annual_value_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        _unsaved_use_case(expected_annual_value=Decimal("-1.00")).save()
    assert UseCase.objects.count() == 0


def test_zero_expected_annual_value_is_allowed():
    _unsaved_use_case(expected_annual_value=Decimal("0")).save()

    assert UseCase.objects.get().expected_annual_value == 0


def test_version_below_one_is_refused():
    use_case = UseCaseFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        UseCase.objects.filter(pk=use_case.pk).update(version=0)
    use_case.refresh_from_db()
    assert use_case.version == 1


def test_decision_with_use_cases_cannot_be_deleted():
    use_case = UseCaseFactory()

    with pytest.raises(ProtectedError), transaction.atomic():
        use_case.decision.delete()
    assert Decision.objects.filter(pk=use_case.decision_id).exists()


def test_owner_of_a_use_case_cannot_be_deleted():
    use_case = UseCaseFactory()

    with pytest.raises(ProtectedError), transaction.atomic():
        use_case.business_owner.delete()
    assert Person.objects.filter(pk=use_case.business_owner_id).exists()


def test_use_case_with_stage_history_cannot_be_deleted():
    decision = DecisionFactory()
    use_case = register_use_case(
        use_case=UseCase(decision=decision, business_unit=decision.business_unit, title="Churn offers"), actor=TEST_ACTOR
    )

    with pytest.raises(ProtectedError), transaction.atomic():
        use_case.delete()
    assert UseCase.objects.filter(pk=use_case.pk).exists()
    assert StageTransition.objects.filter(use_case=use_case).count() == 1


# --- decisions ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["cost_of_error", "cost_of_delay_per_day"])
def test_negative_decision_cost_is_refused(field):
    with pytest.raises(IntegrityError), transaction.atomic():
        DecisionFactory(**{field: Decimal("-0.01")})
    assert Decision.objects.count() == 0


def test_negative_decision_cost_written_by_queryset_update_is_refused():
    decision = DecisionFactory(cost_of_error=Decimal("10"))

    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(cost_of_error=Decimal("-10"))
    decision.refresh_from_db()
    assert decision.cost_of_error == Decimal("10")


def test_unknown_decision_frequency_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        DecisionFactory(frequency="fortnightly")
    assert Decision.objects.count() == 0


def test_same_decision_statement_twice_in_one_unit_is_refused():
    unit = BusinessUnitFactory(name="Finance")
    DecisionFactory(business_unit=unit, statement="Which invoices are paid early?")

    with pytest.raises(IntegrityError), transaction.atomic():
        DecisionFactory(business_unit=unit, statement="Which invoices are paid early?")
    assert Decision.objects.count() == 1


def test_same_decision_statement_in_two_units_is_allowed():
    DecisionFactory(business_unit=BusinessUnitFactory(name="Finance"), statement="Which invoices are paid early?")
    DecisionFactory(business_unit=BusinessUnitFactory(name="Retail"), statement="Which invoices are paid early?")

    assert Decision.objects.count() == 2


# --- people and units --------------------------------------------------------------------


def test_person_email_must_be_lower_case():
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonFactory(email="Ann.Lee@Example.com")
    assert Person.objects.count() == 0


def test_two_people_cannot_share_an_email():
    PersonFactory(email="ann.lee@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        PersonFactory(email="ann.lee@example.com")
    assert Person.objects.count() == 1


def test_person_email_is_unique_whatever_its_case():
    PersonFactory(email="ann.lee@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        PersonFactory(email="ANN.LEE@example.com")
    assert list(Person.objects.values_list("email", flat=True)) == ["ann.lee@example.com"]


def test_person_email_cannot_be_upper_cased_by_queryset_update():
    person = PersonFactory(email="ann.lee@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.filter(pk=person.pk).update(email="Ann.Lee@example.com")
    person.refresh_from_db()
    assert person.email == "ann.lee@example.com"


def test_business_unit_names_are_unique_whatever_their_case():
    BusinessUnit.objects.create(name="Finance")

    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessUnit.objects.create(name="FINANCE")
    assert list(BusinessUnit.objects.values_list("name", flat=True)) == ["Finance"]


# --- KPIs and transitions ----------------------------------------------------------------


def test_kpi_name_is_unique_per_use_case():
    kpi = KPIFactory(name="Churn rate")

    with pytest.raises(IntegrityError), transaction.atomic():
        KPIFactory(use_case=kpi.use_case, name="Churn rate")
    assert KPI.objects.count() == 1


def test_one_kpi_observation_per_day():
    kpi = KPIFactory()
    KPIObservation.objects.create(kpi=kpi, observed_on=datetime.date(2026, 3, 2), value=Decimal("1"))

    with pytest.raises(IntegrityError), transaction.atomic():
        KPIObservation.objects.create(kpi=kpi, observed_on=datetime.date(2026, 3, 2), value=Decimal("2"))
    assert KPIObservation.objects.get().value == Decimal("1")


def test_kpi_direction_must_be_known():
    with pytest.raises(IntegrityError), transaction.atomic():
        KPIFactory(direction="sideways")
    assert KPI.objects.count() == 0


@pytest.mark.parametrize(
    "fields",
    [{"to_stage": "launched"}, {"from_stage": "launched"}, {"source": "email"}],
    ids=["to_stage", "from_stage", "source"],
)
def test_stage_transition_values_must_be_known(fields):
    use_case = UseCaseFactory()
    values = {"use_case": use_case, "from_stage": "proposed", "to_stage": "validating", "source": "product"}
    values.update(fields)

    with pytest.raises(IntegrityError), transaction.atomic():
        StageTransition.objects.create(**values)
    assert StageTransition.objects.count() == 0
