"""Orphaned ownership: decisions and use cases whose owner is missing, gone, a mailbox or silent."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.models import Policy
from portfolio.detectors import orphaned_ownership
from registry.models import Stage, StageTransition, UseCase
from registry.services.decisions import save_decision
from registry.services.use_cases import confirm_use_case_ownership, edit_use_case, register_use_case
from tests.dates import at, days
from tests.factories import TEST_ACTOR
from tests.factories import BusinessUnitFactory, DecisionFactory, PersonFactory, UseCaseFactory

pytestmark = pytest.mark.django_db

# Dates well before the wall clock, so that what the services date "now" lies after them.
ASSIGNED = datetime.date(2025, 2, 3)




def detect(as_of, **policy_overrides):
    return orphaned_ownership.detect(as_of=as_of, policy=Policy(**policy_overrides))


def by_identity(found) -> dict:
    return {f.identity: f for f in found}


def confirmed_decision(on=ASSIGNED, **kwargs):
    return DecisionFactory(owner_confirmed_on=on, **kwargs)


def use_case_in(stage: str, *, since=ASSIGNED, confirmed_on=ASSIGNED, decision=None, **kwargs) -> UseCase:
    """A use case that entered `stage` on `since` (its transitions written as an import would),
    its owners (and its decision's owner) confirmed on `confirmed_on` unless given otherwise."""
    kwargs.setdefault("business_owner_confirmed_on", confirmed_on)
    kwargs.setdefault("technical_owner_confirmed_on", confirmed_on)
    use_case = UseCaseFactory(
        stage=stage, stage_entered_on=since, decision=decision or confirmed_decision(on=confirmed_on), **kwargs
    )
    StageTransition.objects.create(use_case=use_case, from_stage="", to_stage=stage, occurred_at=at(since), source="import")
    return use_case


# --- the ownership clock ---------------------------------------------------------------------


def test_owners_assigned_through_the_services_are_not_flagged_until_the_window_has_passed():
    # given a decision and a use case registered with their owners on ASSIGNED
    decision = DecisionFactory.build(owner=PersonFactory(), business_unit=BusinessUnitFactory(), owner_confirmed_on=None)
    decision = save_decision(decision=decision, actor=TEST_ACTOR, on=ASSIGNED)
    use_case = register_use_case(
        use_case=UseCaseFactory.build(decision=decision, business_owner=PersonFactory(), technical_owner=PersonFactory()),
        actor=TEST_ACTOR, on=at(ASSIGNED),
    )

    # then at 180 days nothing is flagged; at 181 all three owners are
    assert detect(ASSIGNED + days(180)) == []
    found = by_identity(detect(ASSIGNED + days(181)))
    assert set(found) == {
        ("decision", decision.pk, "owner"),
        ("use_case", use_case.pk, "business_owner"),
        ("use_case", use_case.pk, "technical_owner"),
    }
    assert {f.detail["problem"] for f in found.values()} == {"unconfirmed"}


def test_an_unconfirmed_owner_says_since_when():
    # given
    use_case = use_case_in(Stage.PILOT, title="Churn model", business_owner=PersonFactory(email="ann@example.com"),
                           technical_owner_confirmed_on=ASSIGNED + days(100),
                           decision=confirmed_decision(on=ASSIGNED + days(100)))

    # when
    [found] = detect(ASSIGNED + days(181))

    # then
    assert found.kind == "orphaned_ownership"
    assert found.identity == ("use_case", use_case.pk, "business_owner")
    assert found.substance == (use_case.business_owner_id, "unconfirmed")
    assert found.title == (
        "The business owner of 'Churn model', ann@example.com, has not confirmed ownership for 181 days (limit 180)"
    )
    assert found.use_case_ids == [use_case.pk]
    assert found.decision_ids == [use_case.decision_id]
    assert found.severity == "low"
    assert found.detail == {
        "object": "use_case",
        "role": "business_owner",
        "owner": "ann@example.com",
        "problem": "unconfirmed",
        "confirmed_on": ASSIGNED.isoformat(),
        "days_since_confirmation": 181,
        "confirmation_limit_days": 180,
        "stage": "pilot",
    }


def test_the_confirmation_window_comes_from_the_policy():
    use_case_in(Stage.PROPOSED)

    assert detect(ASSIGNED + days(30), ownership_confirmation_days=30) == []
    assert len(detect(ASSIGNED + days(31), ownership_confirmation_days=30)) == 3


def test_a_confirmation_restarts_the_clock():
    # given
    use_case = use_case_in(Stage.PILOT, confirmed_on=ASSIGNED)
    confirm_use_case_ownership(use_case=use_case, person=use_case.business_owner, actor=TEST_ACTOR, on=ASSIGNED + days(100))

    # then only the technical owner and the decision's owner are late at 181 days
    found = by_identity(detect(ASSIGNED + days(181)))
    assert ("use_case", use_case.pk, "business_owner") not in found
    assert ("use_case", use_case.pk, "technical_owner") in found


def test_an_owner_who_never_confirmed_is_unconfirmed():
    use_case = use_case_in(Stage.PROPOSED, business_owner_confirmed_on=None,
                           business_owner=PersonFactory(email="bo@example.com"))

    [found] = detect(ASSIGNED)

    assert found.identity == ("use_case", use_case.pk, "business_owner")
    assert found.detail["problem"] == "unconfirmed"
    assert found.detail["confirmed_on"] is None
    assert found.title == "The business owner of '%s', bo@example.com, has never confirmed ownership" % use_case.title


def test_a_confirmation_recorded_after_the_judged_date_does_not_count():
    # given an owner who left, whose confirmation on record comes after the judged date
    use_case = use_case_in(Stage.PILOT, business_owner=PersonFactory(active=False),
                           business_owner_confirmed_on=ASSIGNED + days(300))

    # when
    [found] = detect(ASSIGNED + days(10))

    # then the later confirmation is not shown as known on the judged date
    assert found.identity == ("use_case", use_case.pk, "business_owner")
    assert found.detail["problem"] == "left"
    assert found.detail["confirmed_on"] is None
    assert found.detail["days_since_confirmation"] is None


def test_when_the_only_confirmation_on_record_is_later_the_owner_is_not_judged_unconfirmed():
    # The earlier confirmation date is overwritten; the scan does not guess it (see the docstring).
    use_case_in(Stage.PILOT, confirmed_on=ASSIGNED + days(400))

    assert detect(ASSIGNED + days(300)) == []


# --- missing owners, by stage -------------------------------------------------------------


@pytest.mark.parametrize(
    "stage, flagged",
    [(Stage.PROPOSED, False), (Stage.VALIDATING, False), (Stage.PILOT, True), (Stage.PRODUCTION, True)],
)
def test_a_missing_business_owner_counts_from_pilot_on(stage, flagged):
    use_case = use_case_in(stage, business_owner=None, business_owner_confirmed_on=None, title="Churn model")

    found = detect(ASSIGNED + days(1))

    assert [f.identity for f in found] == ([("use_case", use_case.pk, "business_owner")] if flagged else [])
    if flagged:
        assert found[0].title == "'Churn model' has no business owner"
        assert found[0].substance == (None, "missing")
        assert found[0].detail["owner"] is None
        assert found[0].detail["problem"] == "missing"


@pytest.mark.parametrize(
    "stage, flagged",
    [(Stage.PROPOSED, False), (Stage.VALIDATING, False), (Stage.PILOT, False), (Stage.PRODUCTION, True)],
)
def test_a_missing_technical_owner_counts_only_in_production(stage, flagged):
    use_case = use_case_in(stage, technical_owner=None, technical_owner_confirmed_on=None)

    found = detect(ASSIGNED + days(1))

    assert [f.identity for f in found] == ([("use_case", use_case.pk, "technical_owner")] if flagged else [])


def test_a_production_use_case_without_an_owner_is_critical_a_pilot_one_high():
    pilot = use_case_in(Stage.PILOT, business_owner=None)
    live = use_case_in(Stage.PRODUCTION, business_owner=None)

    found = by_identity(detect(ASSIGNED + days(1)))

    assert found[("use_case", pilot.pk, "business_owner")].severity == "high"
    assert found[("use_case", live.pk, "business_owner")].severity == "critical"


# --- owners who left, mailboxes -------------------------------------------------------------


def test_an_owner_who_left_the_company_is_flagged_first():
    # given a technical owner who left and has not confirmed for a year either
    use_case = use_case_in(Stage.PRODUCTION, technical_owner=PersonFactory(email="bob@example.com", active=False),
                           technical_owner_confirmed_on=ASSIGNED - days(365), title="Churn model")

    [found] = detect(ASSIGNED + days(1))

    assert found.identity == ("use_case", use_case.pk, "technical_owner")
    assert found.detail["problem"] == "left"
    assert found.title == "The technical owner of 'Churn model', bob@example.com, has left the company"
    assert found.severity == "critical"  # high, one up in production


@pytest.mark.parametrize(
    "email", ["info@example.com", "noreply@example.com", "ai-team@example.com", "team-data@example.com",
              "support@example.com"],
)
def test_a_generic_mailbox_is_nobody(email):
    use_case = use_case_in(Stage.PILOT, business_owner=PersonFactory(email=email))

    [found] = detect(ASSIGNED + days(1))

    # one finding per mailbox (and role), listing the use cases it owns
    assert found.identity == ("mailbox", use_case.business_owner_id, "business_owner")
    assert found.use_case_ids == [use_case.pk]
    assert found.detail["problem"] == "generic_mailbox"
    assert found.detail["owner"] == email
    assert found.severity == "medium"


def test_a_mailbox_owning_many_use_cases_is_one_finding_listing_them():
    mailbox = PersonFactory(email="agency-caio@mail.example.gov")
    unit = BusinessUnitFactory(name="NASA")
    owned = [use_case_in(stage, business_owner=mailbox, business_unit=unit)
             for stage in (Stage.PROPOSED, Stage.PILOT, Stage.PILOT, Stage.PRODUCTION)]
    use_case_in(Stage.RETIRED, business_owner=mailbox, business_unit=unit)

    [found] = detect(ASSIGNED + days(1))

    assert found.use_case_ids == sorted(u.pk for u in owned)
    assert found.detail["count"] == 4 and found.detail["in_production"] == 1
    assert found.severity == "high"  # medium, one up: one of them runs in production
    assert found.title == ("The shared mailbox agency-caio@mail.example.gov is the business owner of 4 use cases "
                           "of NASA (1 in production): a mailbox is nobody")


def test_mailbox_patterns_come_from_the_policy():
    use_case_in(Stage.PILOT, business_owner=PersonFactory(email="claims-desk@example.com"))

    assert detect(ASSIGNED + days(1)) == []
    [found] = detect(ASSIGNED + days(1), generic_mailbox_patterns="*-desk@*\n")
    assert found.detail["problem"] == "generic_mailbox"


def test_a_person_s_address_is_not_a_mailbox():
    use_case_in(Stage.PRODUCTION, business_owner=PersonFactory(email="info.smith@example.com"),
                technical_owner=PersonFactory(email="anna.team@example.com"))

    assert detect(ASSIGNED + days(1)) == []


def test_a_new_owner_changes_the_substance_not_the_identity():
    # given a use case whose business owner left
    use_case = use_case_in(Stage.PILOT, business_owner=PersonFactory(active=False))
    [before] = detect(ASSIGNED + days(1))

    # when a new owner takes over who has left too (a shared mailbox would now be its own
    # finding, one per mailbox: see test_a_mailbox_owning_many_use_cases_is_one_finding_listing_them)
    use_case.business_owner = PersonFactory(active=False)
    edit_use_case(use_case=use_case, actor=TEST_ACTOR, on=ASSIGNED + days(2))
    [after] = detect(ASSIGNED + days(3))

    # then
    assert after.identity == before.identity
    assert after.substance != before.substance
    assert after.substance == (use_case.business_owner_id, "left")


# --- decisions -------------------------------------------------------------------------------


def test_a_decision_whose_owner_left_is_flagged_with_its_live_use_cases():
    # given
    decision = confirmed_decision(statement="Which subscribers get a retention offer?",
                                  owner=PersonFactory(email="carl@example.com", active=False),
                                  cost_of_error=Decimal("50"))
    proposed = use_case_in(Stage.PROPOSED, decision=decision)
    pilot = use_case_in(Stage.PILOT, decision=decision)
    use_case_in(Stage.RETIRED, decision=decision)

    # when
    [found] = detect(ASSIGNED + days(1))

    # then
    assert found.identity == ("decision", decision.pk, "owner")
    assert found.title == (
        "The owner of the decision 'Which subscribers get a retention offer?', carl@example.com, has left the company"
    )
    assert found.decision_ids == [decision.pk]
    assert found.use_case_ids == sorted([proposed.pk, pilot.pk])
    assert found.detail["object"] == "decision"
    assert found.detail["role"] == "owner"
    assert found.severity == "high"


def test_a_decision_whose_use_cases_are_all_retired_is_ignored():
    decision = confirmed_decision(owner=PersonFactory(active=False))
    use_case_in(Stage.RETIRED, decision=decision)

    assert detect(ASSIGNED + days(1)) == []


@pytest.mark.parametrize(
    "stage, flagged", [(Stage.PROPOSED, False), (Stage.VALIDATING, True), (Stage.PRODUCTION, True)]
)
def test_a_missing_decision_owner_counts_once_a_use_case_is_validating(stage, flagged):
    decision = confirmed_decision(owner=None, statement="Which claims are fast-tracked?")
    use_case_in(stage, decision=decision)

    found = detect(ASSIGNED + days(1))

    assert [f.title for f in found] == (["The decision 'Which claims are fast-tracked?' has no owner"] if flagged else [])


@pytest.mark.parametrize(
    "stage, cost_of_error, expected",
    [
        (Stage.PILOT, "999.99", "low"),
        (Stage.PILOT, "1000.00", "medium"),
        (Stage.PRODUCTION, "999.99", "medium"),
        (Stage.PRODUCTION, "1000.00", "high"),
    ],
)
def test_decisions_with_a_costly_error_or_in_production_are_more_severe(stage, cost_of_error, expected):
    decision = confirmed_decision(cost_of_error=Decimal(cost_of_error))
    use_case_in(stage, decision=decision, confirmed_on=ASSIGNED + days(100))

    [found] = detect(ASSIGNED + days(181))

    assert found.identity == ("decision", decision.pk, "owner")
    assert found.severity == expected


# --- the judged date -------------------------------------------------------------------------


def test_retired_use_cases_are_ignored():
    use_case_in(Stage.RETIRED, business_owner=PersonFactory(active=False), technical_owner=None)

    assert detect(ASSIGNED + days(1)) == []


def test_a_use_case_is_judged_in_the_stage_it_was_in_on_the_judged_date():
    # given a validating use case without a business owner that moved to pilot later
    use_case = use_case_in(Stage.VALIDATING, business_owner=None)
    moved = ASSIGNED + days(50)
    StageTransition.objects.create(use_case=use_case, from_stage=Stage.VALIDATING, to_stage=Stage.PILOT,
                                   occurred_at=at(moved), source="import")

    # then while validating it is fine, in pilot it is not
    assert detect(moved - days(1)) == []
    assert [f.detail["problem"] for f in detect(moved)] == ["missing"]


def test_a_use_case_registered_after_the_judged_date_is_ignored():
    use_case_in(Stage.PRODUCTION, since=ASSIGNED + days(10), business_owner=None, technical_owner=None)

    assert detect(ASSIGNED + days(9)) == []
    assert len(detect(ASSIGNED + days(10))) == 2


def test_a_retirement_after_the_judged_date_does_not_count():
    use_case = use_case_in(Stage.PRODUCTION, technical_owner=None)
    StageTransition.objects.create(use_case=use_case, from_stage=Stage.PRODUCTION, to_stage=Stage.RETIRED,
                                   occurred_at=at(ASSIGNED + days(20)), source="import")

    assert len(detect(ASSIGNED + days(19))) == 1
    assert detect(ASSIGNED + days(20)) == []


# --- scale and determinism ---------------------------------------------------------------


def test_findings_come_sorted_decisions_first_then_use_cases():
    for _ in range(3):
        use_case_in(Stage.PRODUCTION, confirmed_on=ASSIGNED - days(400))

    found = detect(ASSIGNED)

    assert [f.identity for f in found] == sorted(f.identity for f in found)
    assert found[0].identity[0] == "decision"


def _queries_for_portfolio_of(size: int, *, start: int = 0) -> int:
    for index in range(start, start + size):
        decision = confirmed_decision(owner=PersonFactory(active=index % 2 == 0))
        use_case_in(Stage.PRODUCTION, decision=decision, technical_owner=None,
                    business_owner=PersonFactory(email=f"info@unit{index}.example.com"))
        use_case_in(Stage.PILOT, decision=decision, confirmed_on=ASSIGNED - days(400))
    with CaptureQueriesContext(connection) as queries:
        found = detect(ASSIGNED + days(1))
    assert len(found) >= 3 * size
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_portfolio():
    small = _queries_for_portfolio_of(3)
    large = _queries_for_portfolio_of(27, start=3)  # 30 in all

    assert large == small


# --- judging a past day from the history ---------------------------------------------------------


def dated_history(obj, day: datetime.date) -> None:
    """Date the latest history record of `obj` on `day`, as if the write had happened then."""
    record = obj.history.order_by("-history_date", "-history_id").first()
    type(record).objects.filter(history_id=record.history_id).update(history_date=at(day))


def test_a_past_day_is_judged_with_the_owners_and_departures_of_that_day():
    # given: Ann owned the pilot from ASSIGNED; she left on day 100; Bob took over on day 130
    ann, bob = PersonFactory(email="ann@example.com"), PersonFactory(email="bob@example.com")
    for person in (ann, bob):
        dated_history(person, ASSIGNED)
    use_case = use_case_in(Stage.PILOT, business_owner=ann)
    dated_history(use_case, ASSIGNED)
    ann.active = False
    ann.save()
    dated_history(ann, ASSIGNED + days(100))
    use_case.business_owner = bob
    edit_use_case(use_case=use_case, actor=TEST_ACTOR, on=ASSIGNED + days(130))
    dated_history(use_case, ASSIGNED + days(130))
    key = ("use_case", use_case.pk, "business_owner")

    # when / then: before Ann left, nothing; while she was gone and still owner, she is named
    assert key not in by_identity(detect(ASSIGNED + days(50)))
    left = by_identity(detect(ASSIGNED + days(110)))[key]
    assert left.detail["problem"] == "left" and left.detail["owner"] == "ann@example.com"
    # and once Bob took over (confirmed on assignment), the use case is owned again
    assert key not in by_identity(detect(ASSIGNED + days(140)))


def test_a_past_day_judges_the_owners_address_of_that_day():
    # given: the owner's address was a team alias on day 50; the directory renamed it later
    alias = PersonFactory(email="ai-team@example.com")
    dated_history(alias, ASSIGNED)
    use_case = use_case_in(Stage.PILOT, business_owner=alias)
    dated_history(use_case, ASSIGNED)
    alias.email = "ana.lopez@example.com"
    alias.save()
    dated_history(alias, ASSIGNED + days(100))
    key = ("mailbox", alias.pk, "business_owner")  # one finding per mailbox

    # when / then
    then = by_identity(detect(ASSIGNED + days(50), generic_mailbox_patterns="*-team@*"))[key]
    assert then.detail["problem"] == "generic_mailbox" and then.detail["owner"] == "ai-team@example.com"
    assert key not in by_identity(detect(ASSIGNED + days(120), generic_mailbox_patterns="*-team@*"))


def test_a_past_day_whose_owner_has_since_been_deleted_is_not_reported_as_gone():
    # given: Cy owned the use case on day 50, was replaced on day 100, then deleted
    cy, dee = PersonFactory(email="cy@example.com"), PersonFactory(email="dee@example.com")
    use_case = use_case_in(Stage.PILOT, business_owner=cy)
    dated_history(use_case, ASSIGNED)
    use_case.business_owner = dee
    edit_use_case(use_case=use_case, actor=TEST_ACTOR, on=ASSIGNED + days(100))
    dated_history(use_case, ASSIGNED + days(100))
    cy.delete()

    found = by_identity(detect(ASSIGNED + days(50)))

    assert ("use_case", use_case.pk, "business_owner") not in found


# --- root causes: imported units, concentration -------------------------------------------------


def test_imported_use_cases_in_production_with_no_owner_are_one_critical_finding_per_unit():
    unit = BusinessUnitFactory(name="VA")
    running = [use_case_in(Stage.PRODUCTION, business_owner=None, business_unit=unit, source_format="omb-2025")
               for _ in range(3)]
    use_case_in(Stage.PILOT, business_owner=None, business_unit=unit, source_format="omb-2025")  # completeness's
    own = use_case_in(Stage.PRODUCTION, business_owner=None, business_unit=unit)  # registered here: per record

    found = by_identity(detect(ASSIGNED + days(1)))

    rolled = found[("unit", unit.pk, "business_owner", "missing", "omb-2025")]
    assert rolled.use_case_ids == sorted(u.pk for u in running)
    assert rolled.severity == "critical"
    assert rolled.title.startswith("3 use cases of VA in production from the OMB 2025 inventory have no business owner")
    assert ("use_case", own.pk, "business_owner") in found
    business = [f for f in found.values() if f.detail["role"] == "business_owner"]
    assert len(business) == 2


def test_one_person_owning_a_whole_unit_of_twenty_is_a_concentration():
    sec, small = BusinessUnitFactory(name="SEC"), BusinessUnitFactory(name="Small")
    person = PersonFactory(email="one.person@sec.example.gov")
    owned = [use_case_in(Stage.PILOT, business_owner=person, business_unit=sec) for _ in range(20)]
    use_case_in(Stage.PROPOSED, business_owner=None, business_unit=sec)  # no owner: does not break the rule
    other = PersonFactory()
    for _ in range(19):
        use_case_in(Stage.PILOT, business_owner=other, business_unit=small)

    [found] = [f for f in detect(ASSIGNED + days(1)) if f.detail["problem"] == "concentration"]

    assert found.identity == ("concentration", sec.pk, "business_owner")
    assert found.use_case_ids == sorted(u.pk for u in owned)
    assert found.severity == "medium"
    assert found.title.startswith("one.person@sec.example.gov is the business owner of every use case of SEC (20)")

    # a second owner in the unit ends it
    use_case_in(Stage.PILOT, business_owner=PersonFactory(), business_unit=sec)
    assert [f for f in detect(ASSIGNED + days(1)) if f.detail["problem"] == "concentration"] == []
