"""How alike two use cases are, and which pairs count as duplicates.

**Score.** The lexical similarity (cosine of task-term vectors, ``features``) and, when the
use cases' sentence embeddings are stored, the semantic one, combined: ``LEXICAL_SHARE`` of the
lexical cosine plus the rest of the semantic cosine rescaled so that ``SEMANTIC_ZERO`` (what two
unrelated sentences score) is 0 and ``SEMANTIC_ONE`` is 1. Neither signal alone ranks as well as
both: words miss paraphrases (``voice bot`` / ``automated phone agent``), embeddings blur one
task into its neighbours. A product both name adds up to ``PRODUCT_BONUS`` times its rarity, only
to pairs whose task score is already ``PRODUCT_NEEDS`` or more: a name alone, a vendor both buy
from for unrelated work, never makes a duplicate.

**Thresholds by rank and margin.** A pair counts when its score is at least the policy's
floor, and either it is ``STRONG`` or, seen from one of its two use cases, the partner is
among its ``RANK`` best and stands ``MARGIN`` above that use case's background (its
``BACKGROUND_RANK``-th best score, 0 if it has fewer partners): a generic use case
("document classification") is close to many and must stand out from them. A use case
without a description of its own is judged on its title, which embeds loosely ("Chatbot" is
near every chatbot): both thresholds are raised by ``UNDESCRIBED``.

**Evidence in words.** A pair shares ``SHARED_TERMS`` task terms or a product, or means alike
beyond doubt (a semantic cosine of ``SEMANTIC_ALONE``): one word in common, the other words
apart, is a homonym ("examiner" of patents and of banks), not a duplicate.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np
import scipy.sparse as sp

from .candidates import rank_within

LEXICAL_SHARE = 0.4
SEMANTIC_ZERO = 0.2
SEMANTIC_ONE = 0.85
PRODUCT_BONUS = 0.25
PRODUCT_NEEDS = 0.15
STRONG = 0.6
# Two use cases this alike are one system: built twice, not two takes on one task.
SAME_SYSTEM = 0.75
RANK = 3
MARGIN = 0.16
BACKGROUND_RANK = 8
UNDESCRIBED = 0.15
# Pairs scored at once: bounds the memory of the sparse products.
CHUNK = 200_000
SHARED_TERMS = 2
SEMANTIC_ALONE = 0.6


@dataclass
class Scored:
    lexical: np.ndarray
    semantic: np.ndarray  # NaN where either has no embedding
    product: np.ndarray
    score: np.ndarray
    shared_terms: np.ndarray  # how many task terms the two have in common


class Scorer:
    """Scores of pairs of rows; `embeddings` has a zero row where none is stored."""

    def __init__(self, tasks: sp.csr_matrix, products: sp.csr_matrix, product_weight: np.ndarray,
                 embeddings: np.ndarray):
        self.tasks = tasks
        self.products = products
        self.product_weight = product_weight
        self.embeddings = embeddings
        self.embedded = np.abs(embeddings).sum(axis=1) > 0
        self._weights: dict[int, dict[int, float]] = {}
        self._named: dict[int, dict[int, float]] = {}

    def __call__(self, a: np.ndarray, b: np.ndarray) -> Scored:
        """The scores of the pairs (a[i], b[i]), computed a chunk at a time to bound memory."""
        parts = [self._chunk(a[start:start + CHUNK], b[start:start + CHUNK]) for start in range(0, len(a), CHUNK)]
        if not parts:
            return Scored(*(np.empty(0) for _ in range(5)))
        return Scored(*(np.concatenate(column) for column in zip(*(astuple(part) for part in parts))))

    def _chunk(self, a: np.ndarray, b: np.ndarray) -> Scored:
        common = sp.csr_matrix(self.tasks[a].multiply(self.tasks[b]))
        lexical = np.asarray(common.sum(axis=1)).ravel()
        both = self.embedded[a] & self.embedded[b]
        semantic = np.where(both, np.einsum("ij,ij->i", self.embeddings[a], self.embeddings[b]), np.nan)
        shared = self.products[a].multiply(self.products[b]) @ sp.diags(self.product_weight)
        product = shared.max(axis=1).toarray().ravel() if shared.shape[1] else np.zeros(len(a))
        return Scored(lexical, semantic, product, combined(lexical, semantic, product), np.diff(common.indptr))

    def pair(self, a: int, b: int) -> tuple[float, float, float, float, int]:
        """(lexical, semantic or NaN, product, score, shared terms) of one pair: cheaper than a
        matrix for the few pairs grouping and evidence ask for."""
        first, second = self._row(a), self._row(b)
        if len(first) > len(second):
            first, second = second, first
        lexical = sum(weight * second.get(term, 0.0) for term, weight in first.items())
        shared_terms = sum(term in second for term in first)
        semantic = float(self.embeddings[a] @ self.embeddings[b]) if self.embedded[a] and self.embedded[b] else np.nan
        named_a, named_b = self._products_of(a), self._products_of(b)
        product = max((named_a[name] for name in named_a.keys() & named_b.keys()), default=0.0)
        score = float(combined(np.array([lexical]), np.array([semantic]), np.array([product]))[0])
        return lexical, semantic, product, score, shared_terms

    def score(self, a: int, b: int) -> float:
        return self.pair(a, b)[3]

    def _row(self, row: int) -> dict[int, float]:
        if (found := self._weights.get(row)) is None:
            start, end = self.tasks.indptr[row], self.tasks.indptr[row + 1]
            found = self._weights[row] = dict(zip(self.tasks.indices[start:end].tolist(),
                                                  self.tasks.data[start:end].tolist()))
        return found

    def _products_of(self, row: int) -> dict[int, float]:
        if (found := self._named.get(row)) is None:
            named = self.products.indices[self.products.indptr[row]:self.products.indptr[row + 1]]
            found = self._named[row] = dict(zip(named.tolist(), self.product_weight[named].tolist()))
        return found


def combined(lexical: np.ndarray, semantic: np.ndarray, product: np.ndarray) -> np.ndarray:
    """The score from its parts (see the module's docstring); NaN semantic: words alone."""
    meaning = np.clip((semantic - SEMANTIC_ZERO) / (SEMANTIC_ONE - SEMANTIC_ZERO), 0, 1)
    task = np.where(np.isnan(semantic), lexical, LEXICAL_SHARE * lexical + (1 - LEXICAL_SHARE) * meaning)
    return np.minimum(1.0, task + PRODUCT_BONUS * product * (task >= PRODUCT_NEEDS))


def accepted(pairs: np.ndarray, scored: Scored, described: np.ndarray, floor: float) -> np.ndarray:
    """Which of the candidate `pairs` (a < b, `scored`) count as duplicates."""
    if not len(pairs):
        return np.zeros(0, bool)
    score = scored.score
    # Each pair seen from both of its use cases: its rank there and that use case's background.
    seen_from = np.concatenate((pairs[:, 0], pairs[:, 1]))
    both_scores = np.concatenate((score, score))
    order = np.lexsort((-both_scores, seen_from))
    rank = np.empty(len(order), np.int64)
    rank[order] = rank_within(seen_from[order])
    background = np.zeros(described.shape[0])
    at_background = order[rank[order] == BACKGROUND_RANK - 1]
    background[seen_from[at_background]] = both_scores[at_background]
    stands_out = (rank < RANK) & (both_scores - background[seen_from] >= MARGIN)
    stands_out = stands_out[:len(pairs)] | stands_out[len(pairs):]

    both_described = described[pairs[:, 0]] & described[pairs[:, 1]]
    raised = np.where(both_described, 0.0, UNDESCRIBED)
    worded = ((scored.shared_terms >= SHARED_TERMS) | (scored.product > 0)
              | (both_described & (np.nan_to_num(scored.semantic) >= SEMANTIC_ALONE)))
    return (score >= floor + raised) & ((score >= STRONG + raised) | stands_out) & worded
