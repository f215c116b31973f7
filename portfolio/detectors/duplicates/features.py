"""The use cases as features: TF-IDF vectors of their task terms, the products they name, and
whether they describe themselves at all.

A term counts by the field it is in: the title twice, the summary once, the capability and the
decision statement half (a capability names a technique many unrelated use cases share; decision
statements share their cadence and form). Term frequency is sublinear, inverse document
frequency smoothed, and each row is L2-normalised, so the lexical similarity of two use cases
is the cosine of their rows, between 0 and 1.

A product's weight is its rarity: 1 for a product at most ``RARE`` use cases name (or 0.5% of
them), falling with ``log(n / df)`` to 0.05 for a vendor half the inventory buys from.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .vocabulary import Vocabulary

TITLE_WEIGHT = 2.0
SUMMARY_WEIGHT = 1.0
CAPABILITY_WEIGHT = 0.5
STATEMENT_WEIGHT = 0.5
RARE = 10
# Fewer task words than this in the summary: the row is described by its title alone.
DESCRIBED_MIN_TERMS = 4


@dataclass
class Texts:
    """The judged use cases' texts, field by field, and the vocabulary of each row."""

    titles: list[str]
    summaries: list[str]
    capabilities: list[str]
    statements: list[str]
    vendors: list[str]
    vocabularies: list[Vocabulary]

    def __len__(self) -> int:
        return len(self.titles)

    def fields(self):
        return ((self.titles, TITLE_WEIGHT), (self.summaries, SUMMARY_WEIGHT),
                (self.capabilities, CAPABILITY_WEIGHT), (self.statements, STATEMENT_WEIGHT))


@dataclass
class Features:
    tasks: sp.csr_matrix  # rows L2-normalised TF-IDF of task terms
    terms: list[str]  # column → term
    products: sp.csr_matrix  # rows × products, 1 where the row names it
    product_names: list[str]
    product_weight: np.ndarray  # per product, its rarity in (0, 1]
    described: np.ndarray  # bool per row: a summary of its own
    profile: np.ndarray  # rows with the same terms and products share a profile

    def weights(self, row: int) -> dict[int, float]:
        start, end = self.tasks.indptr[row], self.tasks.indptr[row + 1]
        return dict(zip(self.tasks.indices[start:end].tolist(), self.tasks.data[start:end].tolist()))

    def named(self, row: int) -> set[int]:
        return set(self.products.indices[self.products.indptr[row]:self.products.indptr[row + 1]].tolist())


def _intern(values) -> tuple[np.ndarray, list]:
    """Index of each value in the list of distinct values (in order of first appearance)."""
    index: dict = {}
    codes = np.fromiter((index.setdefault(value, len(index)) for value in values), dtype=np.int64)
    return codes, list(index)


def _tf_idf(counts: sp.csr_matrix) -> sp.csr_matrix:
    rows = counts.shape[0]
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1 + rows) / (1 + document_frequency)) + 1
    weighted = counts.copy()
    weighted.data = np.log1p(weighted.data) * idf[weighted.indices]
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    return sp.csr_matrix(sp.diags(1 / norms) @ weighted)


def build(texts: Texts) -> Features:
    """Each distinct (text, vocabulary) of a field is analysed once: portfolios repeat them."""
    rows = len(texts)
    vocabulary: dict[str, int] = {}
    analysers = {id(analyser): analyser for analyser in texts.vocabularies}
    fields, keys = [], []
    for field, weight in texts.fields():
        codes, distinct = _intern(zip(field, map(id, texts.vocabularies)))
        indptr, indices, data = [0], [], []
        for text, analyser in distinct:
            counted = Counter(vocabulary.setdefault(term, len(vocabulary)) for term in analysers[analyser].terms(text))
            indices.extend(counted)
            data.extend(counted.values())
            indptr.append(len(indices))
        fields.append((codes, indptr, indices, np.array(data, dtype=np.float64) * weight))
        same_terms, _ = _intern(tuple(sorted(indices[start:end])) for start, end in zip(indptr, indptr[1:]))
        keys.append(same_terms[codes])
    summed = sp.csr_matrix((rows, len(vocabulary)))
    for codes, indptr, indices, data in fields:
        summed = summed + sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, len(vocabulary)))[codes]

    named = [
        analyser.products_in(title, summary, vendor_cell=vendor)
        for title, summary, vendor, analyser in zip(texts.titles, texts.summaries, texts.vendors, texts.vocabularies)
    ]
    product_index: dict[str, int] = {}
    indptr, indices = [0], []
    for products in named:
        indices.extend(sorted(product_index.setdefault(product, len(product_index)) for product in products))
        indptr.append(len(indices))
    products = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(rows, len(product_index)))
    frequency = np.bincount(products.indices, minlength=len(product_index))
    rare = max(RARE, rows // 200)
    rarity = np.log(rows / np.maximum(frequency, rare)) / math.log(max(rows / rare, 2)) if rows > rare else 1.0

    summary_terms = np.array([len(analyser.terms(summary))
                              for summary, analyser in zip(texts.summaries, texts.vocabularies)])
    product_key, _ = _intern(named)
    _, profile = np.unique(np.column_stack([*keys, product_key]), axis=0, return_inverse=True)
    return Features(
        tasks=_tf_idf(sp.csr_matrix(summed)), terms=list(vocabulary), products=products,
        product_names=list(product_index), product_weight=np.clip(np.broadcast_to(rarity, frequency.shape), 0.05, 1.0),
        described=summary_terms >= DESCRIBED_MIN_TERMS, profile=profile.ravel(),
    )
