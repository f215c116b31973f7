"""Duplicated capabilities: quality on a labelled inventory, each rule at its boundaries on small
made-up inventories, and the finding's shape."""

import datetime
import itertools
from pathlib import Path

import pytest
import yaml
from django.utils import timezone

from portfolio import embeddings
from portfolio.detectors import duplicates
from portfolio.detectors.duplicates import candidates, evidence, grouping, scoring
from portfolio.detectors.duplicates.vocabulary import Vocabulary, acronyms, vendors
from portfolio.models import Policy, Severity
from registry.models import Stage, UseCase
from registry.services.lifecycle import move_use_case
from tests.factories import TEST_ACTOR, BusinessUnitFactory, DecisionFactory, UseCaseFactory

pytestmark = pytest.mark.django_db

LABELS = Path(__file__).resolve().parent / "duplicate_labels.yaml"
TODAY = timezone.localdate()


@pytest.fixture
def policy():
    return Policy()


def add_use_case(unit: str, title: str, summary: str = "", *, sub_unit: str = "", vendor: str = "",
                 stage: str = Stage.PROPOSED, **fields) -> UseCase:
    """A use case as an imported inventory holds it: no decision stated, the sub-unit and the
    vendor in its source record."""
    decision = DecisionFactory(business_unit=BusinessUnitFactory(name=unit), is_defined=False,
                               statement=f"Not yet defined ({title})")
    use_case = UseCaseFactory(decision=decision, title=title, summary=summary, capability="",
                              source_format="omb-2025",
                              source_record={"agency_bureau": sub_unit, "vendor_name": vendor}, **fields)
    if stage != Stage.PROPOSED:
        UseCase.objects.filter(pk=use_case.pk).update(stage=stage)
    return use_case


def detect(policy, as_of=TODAY):
    embeddings.refresh()
    return duplicates.detect(as_of=as_of, policy=policy)


# --- the labelled inventory ---------------------------------------------------------------------


def load_labels() -> dict[int, dict]:
    rows = {}
    for row in yaml.safe_load(LABELS.read_text(encoding="utf-8"))["use_cases"]:
        use_case = add_use_case(row["unit"], row["title"], row.get("summary", ""), sub_unit=row.get("sub_unit", ""),
                                vendor=row.get("vendor", ""), stage=row.get("stage", Stage.PROPOSED),
                                external_id=row["key"])
        rows[use_case.pk] = row
    return rows


def may_pair(first: dict, second: dict) -> bool:
    """Different units, or different sub-units of one unit (the labels name no products apart)."""
    return first["unit"] != second["unit"] or bool(
        first.get("sub_unit") and second.get("sub_unit") and first["sub_unit"] != second["sub_unit"])


def pairwise(rows: dict[int, dict], found) -> tuple[float, float, set, set]:
    labelled = {
        pair for pair in itertools.combinations(sorted(rows), 2)
        if rows[pair[0]].get("group") and rows[pair[0]].get("group") == rows[pair[1]].get("group")
        and may_pair(rows[pair[0]], rows[pair[1]])
    }
    predicted = {pair for finding in found for pair in itertools.combinations(sorted(finding.use_case_ids), 2)}
    correct = len(labelled & predicted)
    return (correct / len(predicted) if predicted else 0.0), correct / len(labelled), labelled, predicted


def test_labelled_inventory_precision_and_recall(policy):
    rows = load_labels()
    groups = {row["group"] for row in rows.values() if row.get("group")}
    assert len(rows) >= 100 and len(groups) >= 15

    found = detect(policy)

    precision, recall, labelled, predicted = pairwise(rows, found)
    key = {pk: row["key"] for pk, row in rows.items()}
    print(f"\nduplicates, labelled inventory: {len(rows)} use cases, {len(groups)} groups, {len(labelled)} pairs; "
          f"{len(found)} findings: pairwise precision={precision:.3f} recall={recall:.3f}")
    for pair in sorted(predicted - labelled):
        print("  wrong pair:", key[pair[0]], key[pair[1]])
    for pair in sorted(labelled - predicted):
        print("  missed pair:", key[pair[0]], key[pair[1]])
    assert precision >= 0.9
    assert recall >= 0.9


# --- vocabulary ---------------------------------------------------------------------------------


def test_names_and_products_are_no_task_terms():
    vocabulary = Vocabulary(names=acronyms("National Institute of Standards and Technology (NIST)"),
                            products=["Skydio"], source="omb-2025")
    text = "NIST guidance for an IVR voice-bot on ServiceNow, FOIAXpress and Skydio drones; e-mail triage"

    assert vocabulary.terms(text) == ("guidanc", "voice bot", "voice bot", "drone", "email", "triag")
    assert vocabulary.products_in(text) == {"servicenow", "foiaxpress", "skydio"}


def test_a_word_labelling_a_record_number_is_no_task_term():
    vocabulary = Vocabulary(source="omb-2025")

    assert vocabulary.terms("Streamflow forecasting [2024 INV#DOI-69]") == ("streamflow", "forecast", "doi")
    assert vocabulary.terms("Risk screening [2024 Inv# WO0000000108776]") == ("risk", "screen", "wo0000000108776")
    assert vocabulary.terms("Invoice matching") == ("invoic", "match")
    assert vocabulary.terms("—") == ()


def test_an_ordinary_word_is_a_product_only_in_its_own_vendor_cell():
    vocabulary = Vocabulary(products=["Integration", "Splunk"], words=["integration"])

    assert vocabulary.products_in("Data integration with Splunk") == {"splunk"}
    assert vocabulary.products_in("Data integration", vendor_cell="Integration, LLC") == {"integration"}
    assert vocabulary.products_in("ServiceNow", "GitHub Copilot") == {"servicenow", "github"}
    assert "integr" in vocabulary.terms("Data integration with Splunk")


def test_acronyms_of_units_are_names_but_short_and_known_ones_say_what():
    assert acronyms("VHA: Veterans Health Administration") == ["VHA"]
    assert acronyms("Office of IT (OIT)") == ["OIT"]
    assert acronyms("FOIA Office") == []


@pytest.mark.parametrize("cell, expected", [
    ("Microsoft; ServiceNow, Inc.", ["Microsoft", "ServiceNow"]),
    ("Not available", []),
    ("In house development", []),
    ("NEC is the third party vendor CBP uses", []),
    ("", []),
])
def test_a_vendor_cell_names_vendors_not_sentences(cell, expected):
    assert vendors(cell) == expected


# --- candidates and thresholds -----------------------------------------------------------------


def test_a_common_term_stays_in_candidate_search():
    # given: 300 rows saying "chatbot" among other words, two of them only that and "IT"
    import numpy as np
    import scipy.sparse as sp

    rows = 300
    common = np.full(rows, 0.2)
    common[[5, 250]] = 1.0
    tasks = sp.csr_matrix(np.column_stack([common, np.eye(rows)[:, :rows] * 0.9]))

    pairs = candidates.pairs(candidates.lexical(tasks, lambda a, b: np.ones(len(a), bool)))

    assert [5, 250] in pairs.tolist()


def test_a_pair_counts_by_rank_and_margin_not_one_cut_off():
    import numpy as np

    # use case 0 and its partners 1..10, best first; each partner has nine others of its own at 0.34
    pairs = np.array([[0, partner] for partner in range(1, 11)]
                     + [[partner, 11 + filler] for partner in range(1, 11) for filler in range(9)])
    described = np.ones(20, bool)

    def accepted(values):
        values = np.array(values + [0.34] * 90, float)
        scored = scoring.Scored(values, values, np.zeros(len(values)), values, np.full(len(values), 3))
        return scoring.accepted(pairs, scored, described, 0.3).tolist()[:10]

    background = [0.34] * 9
    # the best partner stands MARGIN above the background: a duplicate; the others do not
    assert accepted([0.34 + scoring.MARGIN + 0.001, *background]) == [True] + [False] * 9
    assert accepted([0.34 + scoring.MARGIN - 0.01, *background]) == [False] * 10
    # only the RANK best may stand out
    assert accepted([0.45, 0.44, 0.43, 0.42] + [0.1] * 6)[:4] == [True, True, True, False]
    # a strong pair counts whatever its rank and background
    assert accepted([scoring.STRONG] * 10) == [True] * 10
    # below the floor nothing counts
    assert accepted([0.29] + [0.0] * 9) == [False] * 10


def test_a_use_case_without_description_needs_stronger_evidence():
    import numpy as np

    pairs = np.array([[0, 1]])
    title_only = np.array([True, False])

    def scored(score, shared):
        return scoring.Scored(np.array([score]), np.array([score]), np.zeros(1), np.array([score]), np.array([shared]))

    assert scoring.accepted(pairs, scored(0.4, 3), np.ones(2, bool), 0.3).tolist() == [True]
    assert scoring.accepted(pairs, scored(0.4, 3), title_only, 0.3).tolist() == [False]  # raised floor
    assert scoring.accepted(pairs, scored(0.5, 1), title_only, 0.3).tolist() == [False]  # one word in common
    assert scoring.accepted(pairs, scored(0.5, 2), title_only, 0.3).tolist() == [True]


# --- grouping ----------------------------------------------------------------------------------


def test_one_unit_may_hold_several_members_from_different_sub_units_or_separate_systems():
    import numpy as np
    import scipy.sparse as sp

    units = np.array([1, 1, 1, 1, 2])
    sub_units = np.array([10, 11, -1, -1, -1])
    products = sp.csr_matrix(np.array([[0, 0], [0, 0], [1, 0], [0, 1], [0, 0]]))
    may_share = grouping.Membership(units, sub_units, products)

    a, b = np.array([0, 0, 2, 0, 2]), np.array([1, 2, 3, 4, 4])
    assert may_share(a, b).tolist() == [True, False, True, True, True]


def test_a_chain_of_similar_use_cases_does_not_become_one_group():
    import numpy as np

    # A~B~C~D: neighbours alike, the ends unrelated
    scores = {(0, 1): 0.6, (1, 2): 0.6, (2, 3): 0.6, (0, 2): 0.3, (1, 3): 0.3, (0, 3): 0.0}
    pairs = np.array([[0, 1], [1, 2], [2, 3]])

    groups = grouping.form_groups(
        pairs, np.array([0.6, 0.6, 0.6]), lambda a, b: np.ones(len(a), bool),
        lambda a, b: scores[(a, b)], 0.3,
    )

    assert all(len(group) < 4 for group in groups)


# --- the detector on small inventories ------------------------------------------------------------

VOICE_BOT = ("Callers ask about their benefit payments by phone; the voice bot understands speech, answers common "
             "questions and transfers the rest to an agent.")
IVR = ("Interactive voice response on the public phone line that understands what callers say, answers routine "
       "questions about payments and hands complex calls to staff.")


def test_paraphrases_of_one_capability_in_two_units_are_one_finding(policy):
    first = add_use_case("Social Security", "Voice bot for the benefits hotline", VOICE_BOT)
    second = add_use_case("Revenue Service", "Conversational IVR for taxpayers", IVR)

    (finding,) = detect(policy)

    assert finding.use_case_ids == [first.pk, second.pk]


def test_use_cases_of_one_unit_are_duplicates_only_across_sub_units(policy):
    add_use_case("Transport", "Voice bot for licence renewals", VOICE_BOT)
    add_use_case("Transport", "Conversational IVR for licences", IVR)
    assert detect(policy) == []

    UseCase.objects.filter(title__startswith="Voice").update(source_record={"agency_bureau": "Motor Vehicles"})
    UseCase.objects.filter(title__startswith="Conv").update(source_record={"agency_bureau": "Aviation"})
    (finding,) = detect(policy)
    assert [member["sub_unit"] for member in finding.detail["members"]] == ["Motor Vehicles", "Aviation"]


def test_a_name_alone_makes_no_duplicate(policy):
    add_use_case("Commerce", "NIST calibration data analysis",
                 "Fits uncertainty models to NIST calibration measurements of laboratory instruments.",
                 sub_unit="National Institute of Standards and Technology (NIST)")
    add_use_case("Defence", "NIST control compliance",
                 "Maps system security plans to NIST controls and finds missing evidence for an authorisation.")

    assert detect(policy) == []


def test_the_same_vendor_for_unrelated_work_is_no_duplicate(policy):
    add_use_case("Defence", "Spare parts supply risk", "Palantir Foundry flags suppliers of spare parts at risk of "
                 "delay.", vendor="Palantir")
    add_use_case("Justice", "Investigative link analysis", "Palantir Gotham links people, phones and accounts in "
                 "case files for investigators.", vendor="Palantir")

    assert detect(policy) == []


def test_a_shared_product_is_strong_evidence(policy):
    first = add_use_case("Interior", "IT help desk virtual agent", "Employees chat with the ServiceNow virtual agent "
                         "to reset passwords and open tickets.", vendor="ServiceNow")
    second = add_use_case("Energy", "Now Assist for staff", "ServiceNow Now Assist answers staff IT support "
                          "questions from knowledge articles and summarises incidents.", vendor="ServiceNow")

    (finding,) = detect(policy)

    assert finding.use_case_ids == [first.pk, second.pk]
    assert finding.detail["products"] == ["ServiceNow"]
    assert "(ServiceNow)" in finding.title


def test_retired_use_cases_and_those_not_created_yet_are_ignored(policy):
    add_use_case("Human Resources", "Voice bot for the HR hotline", VOICE_BOT)
    retired = add_use_case("IT Operations", "Voice bot for the IT hotline", VOICE_BOT)
    later = add_use_case("Facilities", "Voice bot for the facilities hotline", VOICE_BOT)
    UseCase.objects.filter(pk=retired.pk).update(stage=Stage.RETIRED)
    UseCase.objects.filter(pk=later.pk).update(created_at=timezone.now() + datetime.timedelta(days=2))

    assert detect(policy) == []
    (finding,) = detect(policy, as_of=TODAY + datetime.timedelta(days=2))
    assert retired.pk not in finding.use_case_ids and later.pk in finding.use_case_ids


def test_a_use_case_retired_after_the_judged_day_still_counts_on_that_day(policy):
    # given: two units built the same voice bot a month ago; one was retired five days ago
    kept = add_use_case("Human Resources", "Voice bot for the HR hotline", VOICE_BOT)
    retired = add_use_case("IT Operations", "Voice bot for the IT hotline", VOICE_BOT)
    UseCase.objects.filter(pk__in=[kept.pk, retired.pk]).update(created_at=timezone.now() - datetime.timedelta(days=30))
    move_use_case(use_case=retired, to_stage=Stage.RETIRED, actor=TEST_ACTOR, reason="superseded",
                  on=timezone.now() - datetime.timedelta(days=5))

    # when / then: ten days ago both were alive; today only one is
    (finding,) = detect(policy, as_of=TODAY - datetime.timedelta(days=10))
    assert set(finding.use_case_ids) == {kept.pk, retired.pk}
    assert detect(policy) == []


def test_a_finding_names_its_capability_members_pairs_and_why(policy):
    anchor = add_use_case("Customer Service", "Customer e-mail triage",
                          "Classifies incoming customer e-mails by intent and urgency and routes each to the right "
                          "queue.", stage=Stage.PRODUCTION)
    other = add_use_case("Finance", "Accounts payable mailbox triage",
                         "Sorts e-mails arriving in the accounts payable mailbox by intent and urgency and routes them "
                         "to the right clerk's queue.", sub_unit="Payables", stage=Stage.PILOT)

    (finding,) = detect(policy)

    assert finding.kind == "duplicate_capability"
    assert finding.identity == (anchor.pk,)
    assert finding.substance == (anchor.pk, other.pk)
    assert finding.use_case_ids == [anchor.pk, other.pk]
    assert finding.decision_ids == sorted([anchor.decision_id, other.decision_id])
    assert finding.title == f"{finding.detail['capability']}: 2 use cases in Customer Service and Finance"
    assert finding.detail["capability"].lower().startswith("triage")
    detail = finding.detail
    assert detail["members"] == [
        {"use_case": anchor.external_id, "title": anchor.title, "business_unit": "Customer Service", "sub_unit": "",
         "stage": "production"},
        {"use_case": other.external_id, "title": other.title, "business_unit": "Finance", "sub_unit": "Payables",
         "stage": "pilot"},
    ]
    (pair,) = detail["pairs"]
    assert pair["use_cases"] == [anchor.external_id, other.external_id]
    assert 0.3 <= pair["score"] <= 1 and 0 < pair["lexical"] < 1 and 0 < pair["semantic"] <= 1
    assert {"email", "triage", "intent", "urgency"} & set(pair["terms"])
    assert pair["products"] == []
    assert detail["similarity"] == {"min": pair["score"], "mean": pair["score"]}
    assert len(detail["shared_terms"]) <= evidence.SHARED_TERMS
    assert detail["business_units"] == ["Customer Service", "Finance"]


@pytest.mark.parametrize(
    "stages, run_twice, expected",
    [
        ([Stage.PROPOSED, Stage.PROPOSED], False, Severity.LOW),
        ([Stage.PILOT, Stage.PROPOSED], False, Severity.LOW),
        ([Stage.PILOT, Stage.PRODUCTION], False, Severity.MEDIUM),
        ([Stage.PRODUCTION, Stage.PRODUCTION], False, Severity.MEDIUM),  # two takes on one task
        ([Stage.PRODUCTION, Stage.PRODUCTION], True, Severity.CRITICAL),  # one system run twice
        ([Stage.PILOT, Stage.PILOT, Stage.PILOT, Stage.PRODUCTION], False, Severity.HIGH),
        ([Stage.PROPOSED, Stage.PROPOSED, Stage.VALIDATING], False, Severity.MEDIUM),
        ([Stage.PROPOSED, Stage.PILOT, Stage.PILOT], False, Severity.HIGH),
        ([Stage.PROPOSED] * 4, False, Severity.HIGH),
    ],
)
def test_severity_grows_with_the_group_and_how_far_its_members_got(stages, run_twice, expected):
    assert duplicates.severity(stages, run_twice) == expected


def test_the_same_system_run_twice_in_production_is_critical(policy):
    for unit in ("Tax", "Benefits"):
        add_use_case(unit, "Voice bot for the benefits hotline", VOICE_BOT, stage=Stage.PRODUCTION)

    (finding,) = detect(policy)

    assert finding.severity == Severity.CRITICAL


def test_the_same_data_give_the_same_findings(policy):
    load_labels()

    first = detect(policy)
    second = duplicates.detect(as_of=TODAY, policy=policy)

    assert first == second
    assert [finding.identity for finding in first] == sorted(finding.identity for finding in first)


def test_the_planted_demo_families_are_found(policy):
    from demo.catalogue import DUPLICATE_FAMILIES
    from demo.generator import seed_demo_portfolio

    seed_demo_portfolio(use_cases=200, seed=1, today=TODAY)
    judged = UseCase.objects.exclude(stage=Stage.RETIRED).order_by("pk")

    groups = [set(finding.use_case_ids) for finding in detect(policy)]

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


@pytest.mark.parametrize("copies", [1, 15])
def test_queries_do_not_grow_with_the_portfolio(policy, copies, django_assert_max_num_queries):
    for copy in range(copies):
        add_use_case("Marketing", f"Churn propensity model {copy}", "Scores subscribers for the risk of cancelling.")
        add_use_case("Sales", f"Customer churn prediction {copy}", "Predicts which customers will cancel.")
    embeddings.refresh()

    # The use cases with their vectors, plus at most two asking whether anything was recorded after the day judged.
    with django_assert_max_num_queries(5):
        found = duplicates.detect(as_of=TODAY, policy=policy)
    assert found


def test_an_empty_registry_has_no_duplicates(policy):
    assert duplicates.detect(as_of=TODAY, policy=policy) == []


def test_a_group_whose_titles_share_one_word_is_named_by_the_longer_phrase_its_texts_share(policy):
    add_use_case("Department of Transportation", "Comment Analyzer",
                 "Groups the public comments received on proposed rules by topic and flags duplicates.")
    add_use_case("Department of Justice", "Rulemaking comments tool",
                 "Sorts public comments on proposed regulations by theme so that staff can answer each one.")
    add_use_case("Federal Energy Regulatory Commission", "Comment summarization",
                 "Summarizes the public comments filed on a proposed rule for the staff who answer them.")

    (finding,) = detect(policy)

    assert finding.detail["capability"] == "Public comments"
    assert finding.title.startswith("Public comments: 3 use cases in ")


def test_a_group_is_never_named_by_the_word_labelling_its_record_numbers(policy):
    add_use_case("Department of the Interior", "Volcano eruption forecasting [2024 INV#WO0000000109214]",
                 "Forecasts volcanic eruptions from seismic signals recorded at monitored volcanoes.")
    add_use_case("Department of Commerce", "Volcanic eruption forecasting [2024 INV#DOC-12]",
                 "Forecasts eruptions of volcanoes from the seismic signals of their monitoring stations.")

    (finding,) = detect(policy)

    assert "INV" not in finding.title and "inv" not in finding.detail["shared_terms"]
    assert finding.title.lower().startswith(("eruption forecasting", "volcan"))
