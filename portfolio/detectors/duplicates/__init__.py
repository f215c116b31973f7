"""Duplicated capabilities: use cases that do the same task, built or bought more than once.

One finding per capability (a group of use cases), whatever the number of units that built it.
The parts, each testable alone:

- ``vocabulary``: text to task terms, names (who) and products (what is used);
- ``features``: TF-IDF vectors of task terms, the products each use case names;
- ``candidates``: each use case's nearest others, by words (an inverted index) and by meaning
  (the stored sentence embeddings' approximate index), never all pairs;
- ``scoring``: the combined score and the thresholds by rank and margin;
- ``grouping``: who may share a group, and average-linkage groups;
- ``evidence``: the capability a group is titled by, its shared products and terms.

**What is judged.** Use cases alive on `as_of` (not retired on that day, created by its end;
the stage on that day from the stage transitions). Copies of one use case in one unit and
sub-unit (the same words and products) are judged once, by the lowest id. A placeholder
decision names no problem: its statement is left out.

**Severity** (the README's table):

- critical: two members in production, in different units, whose pair scores
  ``scoring.SAME_SYSTEM`` or more: the same system built and run twice, waste happening now;
- otherwise from the group's size: 2 → low, 3 → medium, 4 or more → high, one level up when
  two or more members are built (in pilot or production), never above high.

**Identity** is the group's anchor, its member with the lowest id; **substance** is the
sorted member ids, so a member joining or leaving reopens a dismissed finding.

**Detail**: ``capability`` (what is duplicated, the title's head), ``products`` (named by two
or more members), ``shared_terms`` (the task terms that explain the group most), ``members``
(``use_case`` key, ``title``, ``business_unit``, ``sub_unit``, ``stage``), ``pairs`` (every
pair: ``use_cases``, ``score``, ``lexical``, ``semantic`` or null when no embedding is stored,
``terms``, ``products``), ``similarity`` (``min`` and ``mean`` over the pairs) and
``business_units``.

The same data give the same findings in the same order.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from django.db.models.fields.json import KT

from portfolio import embeddings
from portfolio.models import SEVERITY_ORDER, FindingKind
from registry.models import Stage, UseCase

from ..base import LIVE_STAGES, Detected, stage_on
from . import candidates, evidence, features, grouping, scoring
from .vocabulary import Vocabulary, acronyms, vendors

KIND = FindingKind.DUPLICATE_CAPABILITY

BUILT_STAGES = {Stage.PILOT, Stage.PRODUCTION}
TITLE_LIMIT = 300

# The source-record columns that name a use case's sub-unit and its vendor, by source.
SUB_UNIT_COLUMNS = {"omb-2025": "agency_bureau", "omb-2024": "Bureau"}
VENDOR_COLUMNS = {"omb-2025": "vendor_name"}


@dataclass
class _UseCases:
    """The judged use cases, column by column, in order of id."""

    ids: list[int]
    keys: list[str]
    units: np.ndarray
    unit_names: list[str]
    sub_units: list[str]
    decisions: list[int]
    stages: list[str]
    titles: list[str]  # as written; the texts' titles are those analysed
    raw: features.Texts


def _load(as_of: datetime.date) -> _UseCases | None:
    columns = {f"sub_unit_{source}": KT(f"source_record__{column}") for source, column in SUB_UNIT_COLUMNS.items()}
    columns |= {f"vendor_{source}": KT(f"source_record__{column}") for source, column in VENDOR_COLUMNS.items()}
    rows = list(
        UseCase.objects.annotate(stage_on=stage_on(as_of), **columns)
        .filter(stage_on__in=LIVE_STAGES)
        .order_by("pk")
        .values("pk", "external_id", "business_unit_id", "business_unit__name", "decision_id", "stage_on", "title",
                "summary", "capability", "decision__statement", "decision__is_defined", "source_format", *columns)
    )
    if not rows:
        return None
    sub_units = [row.get(f"sub_unit_{row['source_format']}") or "" for row in rows]
    vendor_cells = [row.get(f"vendor_{row['source_format']}") or "" for row in rows]
    unit_names = [row["business_unit__name"] for row in rows]
    names = {acronym for name in {*unit_names, *sub_units} for acronym in acronyms(name)}
    products = {vendor for cell in set(vendor_cells) for vendor in vendors(cell)}
    words = {word for text in {row["summary"] for row in rows} for word in re.findall(r"\b[a-z]{3,}\b", text)}
    vocabularies = {source: Vocabulary(names=names, products=products, words=words, source=source)
                    for source in {row["source_format"] for row in rows}}
    return _UseCases(
        ids=[row["pk"] for row in rows],
        keys=[row["external_id"] or str(row["pk"]) for row in rows],
        units=np.array([row["business_unit_id"] for row in rows], dtype=np.int64),
        unit_names=unit_names,
        sub_units=sub_units,
        decisions=[row["decision_id"] for row in rows],
        stages=[row["stage_on"] for row in rows],
        titles=[row["title"] for row in rows],
        raw=features.Texts(
            titles=_without_series_names([row["title"] for row in rows], [row["business_unit_id"] for row in rows]),
            summaries=[row["summary"] for row in rows],
            capabilities=[row["capability"] for row in rows],
            # A placeholder's statement ("not yet defined") says nothing about the problem,
            # and every use case of an imported inventory shares it.
            statements=[row["decision__statement"] if row["decision__is_defined"] else "" for row in rows],
            vendors=vendor_cells,
            vocabularies=[vocabularies[row["source_format"]] for row in rows],
        ),
    )


# "Pre-Exam Application: CPC Classification": a title's head before a colon or a dash.
_SERIES = re.compile(r"^(?P<head>[^:–—]{3,60}?)\s*(?::|\s[-–—]\s)\s*(?P<rest>\S.*)$")


def _without_series_names(titles: list[str], units: list[int]) -> list[str]:
    """Titles less the head several use cases of one unit share (``Pre-Exam Application:``):
    the name of the unit's programme or series, which says who, not which task; the rest of
    the title does."""
    heads = [(unit, found["head"].lower()) if (found := _SERIES.match(title)) else None
             for title, unit in zip(titles, units)]
    shared = {head for head, count in Counter(heads).items() if head is not None and count >= 2}
    return [_SERIES.match(title)["rest"] if head in shared else title for title, head in zip(titles, heads)]


def severity(stages: list[str], run_twice: bool) -> str:
    """`run_twice`: two members in production score as the same system (see the docstring)."""
    if run_twice:
        return SEVERITY_ORDER[3]
    level = min(len(stages) - 2, 2)
    if sum(stage in BUILT_STAGES for stage in stages) >= 2:
        level += 1
    return SEVERITY_ORDER[min(level, 2)]


def _listed(names: list[str]) -> str:
    if len(names) > 3:
        return f"{len(names)} business units"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    use_cases = _load(as_of)
    if use_cases is None:
        return []
    floor = policy.duplicate_min_similarity
    built = features.build(use_cases.raw)

    # One row per copy: the lowest id of each (profile, unit, sub-unit).
    _, sub_unit_code = np.unique(np.array(use_cases.sub_units, dtype=object), return_inverse=True)
    sub_unit_code = np.where(np.array(use_cases.sub_units, dtype=object) == "", -1, sub_unit_code.ravel())
    slot_key = np.column_stack((built.profile, use_cases.units, sub_unit_code))
    _, judged = np.unique(slot_key, axis=0, return_index=True)
    judged = np.sort(judged)

    tasks, products = built.tasks[judged], built.products[judged]
    may_share = grouping.Membership(use_cases.units[judged], sub_unit_code[judged], products)
    # Stored when the text changed (the scan refreshes them first); a use case with none is
    # judged on its words alone.
    embedded = embeddings.vectors_for([use_cases.ids[row] for row in judged])
    score_of = scoring.Scorer(tasks, products, built.product_weight, embedded)

    neighbours, _ = embeddings.nearest(embedded, candidates.NEIGHBOURS)
    pairs = candidates.pairs(candidates.lexical(tasks, may_share), candidates.semantic(neighbours, may_share))
    scored = score_of(pairs[:, 0], pairs[:, 1])
    keep = scoring.accepted(pairs, scored, built.described[judged], floor)
    groups = grouping.form_groups(pairs[keep], scored.score[keep], may_share, score_of.score, floor)
    return [_finding([int(judged[row]) for row in group], use_cases, built, score_of, group)
            for group in sorted(groups, key=lambda group: judged[group[0]])]


def _finding(rows: list[int], use_cases: _UseCases, built: features.Features, score_of: scoring.Scorer,
             slots: list[int]) -> Detected:
    raw = use_cases.raw
    vocabulary = raw.vocabularies[rows[0]]
    texts = [text for row in rows for text in (use_cases.titles[row], raw.summaries[row], raw.vendors[row])]
    readable = vocabulary.readable(
        text for row in rows for text in (raw.titles[row], raw.summaries[row], raw.capabilities[row],
                                          raw.statements[row])
    )
    by_row = dict(zip(slots, rows))
    scored = sorted(((*score_of.pair(x, y), x, y) for x, y in itertools.combinations(slots, 2)),
                    key=lambda pair: (-pair[3], pair[5], pair[6]))
    pairs = [
        {
            "use_cases": [use_cases.keys[by_row[x]], use_cases.keys[by_row[y]]],
            "score": round(score, 3),
            "lexical": round(lexical, 3),
            "semantic": None if np.isnan(semantic) else round(semantic, 3),
            "terms": evidence.pair_terms(by_row[x], by_row[y], built, readable),
            "products": [evidence.as_written(name, texts)
                         for name in evidence.shared_products([by_row[x], by_row[y]], built)],
        }
        for lexical, semantic, _, score, _, x, y in scored
    ]
    stages = [use_cases.stages[row] for row in rows]
    in_production = {slot for slot, row in by_row.items() if use_cases.stages[row] == Stage.PRODUCTION}
    run_twice = any(
        score >= scoring.SAME_SYSTEM and use_cases.units[by_row[x]] != use_cases.units[by_row[y]]
        for *_, score, _, x, y in scored if x in in_production and y in in_production
    )
    units = sorted({use_cases.unit_names[row] for row in rows})
    what = evidence.capability(rows, [use_cases.titles[row] for row in rows], [raw.summaries[row] for row in rows],
                              texts, built, vocabulary, readable)
    ids = [use_cases.ids[row] for row in rows]
    return Detected(
        kind=KIND,
        identity=(ids[0],),
        severity=severity(stages, run_twice),
        title=evidence.shortened(f"{what}: {len(rows)} use cases in {_listed(units)}", TITLE_LIMIT),
        use_case_ids=ids,
        decision_ids=sorted({use_cases.decisions[row] for row in rows}),
        detail={
            "capability": what,
            "products": [evidence.as_written(name, texts) for name in evidence.shared_products(rows, built)],
            "shared_terms": evidence.shared_terms(rows, built, readable, evidence.SHARED_TERMS),
            "members": [
                {"use_case": use_cases.keys[row], "title": use_cases.titles[row], "business_unit": use_cases.unit_names[row],
                 "sub_unit": use_cases.sub_units[row], "stage": use_cases.stages[row]}
                for row in rows
            ],
            "pairs": pairs,
            "similarity": evidence.mean_and_min([pair["score"] for pair in pairs]),
            "business_units": units,
        },
        substance=tuple(ids),
    )
