"""Duplicated capabilities: quality on a labelled portfolio, the rules, and the contract."""

import csv
import datetime
import itertools
from pathlib import Path

import pytest
from django.utils import timezone

from portfolio.models import Policy, Severity
from portfolio.detectors import duplicates
from registry.services.lifecycle import move_use_case
from registry.models import Stage, UseCase
from tests.factories import TEST_ACTOR
from tests.factories import BusinessUnitFactory, DecisionFactory, UseCaseFactory

pytestmark = pytest.mark.django_db

LABELLED = Path(__file__).resolve().parents[1] / "data" / "duplicate_use_cases.csv"
TODAY = timezone.localdate()
# The similarity the detector is tuned for (see the report on the policy's default).
MIN_SIMILARITY = 0.3


@pytest.fixture
def policy():
    return Policy(duplicate_min_similarity=MIN_SIMILARITY)


def add_use_case(unit: str, title: str, summary: str = "", capability: str = "", statement: str | None = None,
                 **fields) -> UseCase:
    decision = DecisionFactory(
        business_unit=BusinessUnitFactory(name=unit), statement=statement or f"Which cases does {title} decide?"
    )
    return UseCaseFactory(decision=decision, title=title, summary=summary, capability=capability, **fields)


def load_labelled(which: str) -> dict[int, dict]:
    """The labelled rows of set `which` (main or held-out) as use cases; row by use case id."""
    rows = {}
    with LABELLED.open(newline="", encoding="utf-8") as labelled:
        for row in csv.DictReader(labelled):
            if row["set"] == which:
                use_case = add_use_case(row["business_unit"], row["title"], row["summary"], row["capability"],
                                        row["decision"], external_id=row["key"])
                rows[use_case.pk] = row
    return rows


def pairwise_precision_recall(rows: dict[int, dict], found) -> tuple[float, float, int]:
    """Pairs in predicted groups against pairs in labelled groups, different units only."""
    def different_units(pair):
        return rows[pair[0]]["business_unit"] != rows[pair[1]]["business_unit"]

    labelled = {
        pair for pair in itertools.combinations(sorted(rows), 2)
        if different_units(pair) and rows[pair[0]]["duplicate_group"]
        and rows[pair[0]]["duplicate_group"] == rows[pair[1]]["duplicate_group"]
    }
    predicted = {
        pair for finding in found for pair in itertools.combinations(sorted(finding.use_case_ids), 2)
        if different_units(pair)
    }
    correct = len(labelled & predicted)
    return correct / len(predicted) if predicted else 0.0, correct / len(labelled), len(labelled)


def test_labelled_set_precision_and_recall(policy):
    rows = load_labelled("main")
    groups = {row["duplicate_group"] for row in rows.values() if row["duplicate_group"]}
    assert len(rows) >= 60 and len(groups) >= 10 and len({row["business_unit"] for row in rows.values()}) >= 6

    found = duplicates.detect(as_of=TODAY, policy=policy)

    precision, recall, _ = pairwise_precision_recall(rows, found)
    print(f"duplicate detection: precision={precision:.3f} recall={recall:.3f}")
    assert precision >= 0.9
    assert recall >= 0.8


def test_held_out_set_is_measured(policy):
    """Written after the vocabulary and weights were settled, so the detector was never tuned on
    it: its figures show how far the tuning generalises. Measured and printed, not a target."""
    rows = load_labelled("held-out")

    found = duplicates.detect(as_of=TODAY, policy=policy)

    precision, recall, labelled_pairs = pairwise_precision_recall(rows, found)
    print(f"duplicate detection, held-out set: precision={precision:.3f} recall={recall:.3f}")
    assert labelled_pairs >= 5


def test_the_planted_demo_families_are_found(policy):
    from demo.catalogue import DUPLICATE_FAMILIES
    from demo.generator import seed_demo_portfolio

    seed_demo_portfolio(use_cases=200, seed=1, today=TODAY)
    judged = UseCase.objects.exclude(stage=Stage.RETIRED).order_by("pk")

    found = duplicates.detect(as_of=TODAY, policy=policy)

    groups = [set(finding.use_case_ids) for finding in found]
    checked = 0
    for family in DUPLICATE_FAMILIES:
        # Every family is seeded once first, with plain titles; a retired member is not judged.
        titles = [member.use_case.title for member in family]
        first_seeded = {}
        for pk, title in judged.filter(title__in=titles).values_list("pk", "title"):
            first_seeded.setdefault(title, pk)
        if len(first_seeded) >= 2:
            checked += 1
            assert any(set(first_seeded.values()) <= group for group in groups), first_seeded
    assert checked >= 3


def test_use_cases_in_the_same_unit_are_not_duplicates(policy):
    summary = "Reads scanned supplier invoices and extracts supplier, amounts, VAT and purchase order number."
    first = add_use_case("Finance", "Supplier invoice data capture", summary, "document data extraction")
    add_use_case("Finance", "Supplier invoice data capture for Italy", summary, "document data extraction")
    assert duplicates.detect(as_of=TODAY, policy=policy) == []

    other = add_use_case("Procurement", "Supplier invoice data extraction", summary, "document data extraction")

    (finding,) = duplicates.detect(as_of=TODAY, policy=policy)
    assert finding.use_case_ids == [first.pk, other.pk]


def test_retired_use_cases_and_those_not_created_yet_are_ignored(policy):
    summary = "Answers frequent employee questions from the knowledge base and opens a ticket when it cannot help."
    add_use_case("Human Resources", "HR FAQ chatbot", summary, "conversational assistant")
    retired = add_use_case("IT Operations", "IT FAQ chatbot", summary, "conversational assistant")
    later = add_use_case("Facilities", "Facilities FAQ chatbot", summary, "conversational assistant")
    UseCase.objects.filter(pk=retired.pk).update(stage=Stage.RETIRED)
    UseCase.objects.filter(pk=later.pk).update(created_at=timezone.now() + datetime.timedelta(days=2))

    assert duplicates.detect(as_of=TODAY, policy=policy) == []
    (finding,) = duplicates.detect(as_of=TODAY + datetime.timedelta(days=2), policy=policy)
    assert retired.pk not in finding.use_case_ids and later.pk in finding.use_case_ids


def test_a_use_case_retired_after_the_judged_day_still_counts_on_that_day(policy):
    # given: two units built the same chatbot a month ago; one was retired five days ago
    summary = "Answers frequent employee questions from the knowledge base and opens a ticket when it cannot help."
    kept = add_use_case("Human Resources", "HR FAQ chatbot", summary, "conversational assistant")
    retired = add_use_case("IT Operations", "IT FAQ chatbot", summary, "conversational assistant")
    UseCase.objects.filter(pk__in=[kept.pk, retired.pk]).update(created_at=timezone.now() - datetime.timedelta(days=30))
    move_use_case(use_case=retired, to_stage=Stage.RETIRED, actor=TEST_ACTOR, reason="superseded by the HR chatbot",
                  on=timezone.now() - datetime.timedelta(days=5))

    # when / then: ten days ago both were alive; today only one is
    (finding,) = duplicates.detect(as_of=TODAY - datetime.timedelta(days=10), policy=policy)
    assert set(finding.use_case_ids) == {kept.pk, retired.pk}
    assert duplicates.detect(as_of=TODAY, policy=policy) == []


def test_a_finding_names_its_group_scores_and_shared_terms(policy):
    anchor = add_use_case(
        "Customer Service", "Customer e-mail triage",
        "Classifies incoming customer e-mails by intent and urgency and routes each to the right queue.",
        "e-mail intent classification", "Which queue does each incoming customer e-mail go to?",
    )
    other = add_use_case(
        "Finance", "Accounts payable mailbox triage",
        "Sorts e-mails arriving in the accounts payable mailbox by intent and urgency and routes them to the right "
        "clerk's queue.",
        "e-mail intent classification", "Which supplier e-mails are handled first today?",
    )
    UseCase.objects.filter(pk__in=[anchor.pk, other.pk]).update(stage=Stage.PRODUCTION)

    (finding,) = duplicates.detect(as_of=TODAY, policy=policy)

    assert finding.kind == "duplicate_capability"
    assert finding.identity == (anchor.pk,)
    assert finding.substance == (anchor.pk, other.pk)
    assert finding.use_case_ids == [anchor.pk, other.pk]
    assert finding.decision_ids == sorted([anchor.decision_id, other.decision_id])
    assert finding.severity == Severity.CRITICAL  # two of them, both in production: run twice
    assert finding.title.startswith(
        "2 use cases in Customer Service and Finance build e-mail intent classification for “Which queue"
    )
    detail = finding.detail
    score = detail["pairs"][0]["score"]
    assert detail["pairs"] == [{"use_cases": [anchor.external_id, other.external_id], "score": score}]
    assert detail["similarity"] == {"min": score, "mean": score} and MIN_SIMILARITY <= score <= 1
    assert {"email", "triage", "intent", "urgency", "queue"} <= set(detail["shared_terms"])
    assert len(detail["shared_terms"]) <= duplicates.SHARED_TERMS
    assert detail["business_units"] == ["Customer Service", "Finance"]


def test_a_chain_of_similar_use_cases_does_not_become_one_group(policy):
    # A~B~C~D: neighbours share half their words, the ends share none.
    words = ["turbine", "gearbox", "bearing", "vibration", "lubricant", "coolant", "pressure", "valve", "pump", "seal"]
    chain = [
        add_use_case(f"Plant {index}", " ".join(words[2 * index:2 * index + 4]), statement="Which asset is serviced?")
        for index in range(4)
    ]
    ids = [use_case.pk for use_case in chain]

    found = duplicates.detect(as_of=TODAY, policy=policy)

    assert found, "neighbours in the chain are similar enough to group"
    for finding in found:
        assert not {ids[0], ids[3]} <= set(finding.use_case_ids)
        assert len(finding.use_case_ids) < 4


@pytest.mark.parametrize(
    "stages, expected",
    [
        ([Stage.PROPOSED, Stage.PROPOSED], Severity.LOW),
        ([Stage.PILOT, Stage.PROPOSED], Severity.LOW),
        ([Stage.PILOT, Stage.PRODUCTION], Severity.MEDIUM),
        ([Stage.PRODUCTION, Stage.PRODUCTION], Severity.CRITICAL),  # run twice (was high: issue 11)
        ([Stage.PILOT, Stage.PILOT, Stage.PILOT, Stage.PRODUCTION], Severity.HIGH),  # built, not run twice
        ([Stage.PROPOSED, Stage.PROPOSED, Stage.VALIDATING], Severity.MEDIUM),
        ([Stage.PROPOSED, Stage.PILOT, Stage.PILOT], Severity.HIGH),
        ([Stage.PRODUCTION, Stage.PRODUCTION, Stage.PROPOSED], Severity.CRITICAL),
        ([Stage.PROPOSED] * 4, Severity.HIGH),
    ],
)
def test_severity_grows_with_the_group_and_how_far_its_members_got(stages, expected):
    assert duplicates.severity(stages) == expected


def test_the_same_data_give_the_same_findings(policy):
    load_labelled("main")

    first = duplicates.detect(as_of=TODAY, policy=policy)
    second = duplicates.detect(as_of=TODAY, policy=policy)

    assert first == second
    assert [finding.identity for finding in first] == sorted(finding.identity for finding in first)


@pytest.mark.parametrize("copies", [1, 15])
def test_queries_do_not_grow_with_the_portfolio(policy, copies, django_assert_max_num_queries):
    for copy in range(copies):
        add_use_case("Marketing", f"Churn propensity model {copy}", "Scores subscribers for the risk of cancelling.")
        add_use_case("Sales", f"Customer churn prediction {copy}", "Predicts which customers will cancel.")

    with django_assert_max_num_queries(2):
        found = duplicates.detect(as_of=TODAY, policy=policy)
    assert found


def test_an_empty_registry_has_no_duplicates(policy):
    assert duplicates.detect(as_of=TODAY, policy=policy) == []
