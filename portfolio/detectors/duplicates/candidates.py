"""Candidate pairs without comparing all pairs: each use case's nearest others by its words (an
inverted index) and by its meaning (the embeddings' approximate index).

Every task term stays in the index, however common (``code``, ``chatbot``): a common term keeps
the ``POSTINGS`` use cases it weighs most in, and each use case looks up its ``QUERY_TERMS``
heaviest terms, so the work grows with the number of use cases times these constants. Each use
case keeps its ``NEIGHBOURS`` best lexical partners that may share a group with it (see
``grouping.may_share``), and as many semantic ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

NEIGHBOURS = 10
POSTINGS = 64
QUERY_TERMS = 12
# Rows multiplied at once: bounds the product's memory.
CHUNK = 2000


def rank_within(keys: np.ndarray) -> np.ndarray:
    """For a sorted array of keys, each element's position among equal keys."""
    if not len(keys):
        return np.empty(0, np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return np.arange(len(keys)) - np.repeat(starts, np.diff(np.r_[starts, len(keys)]))


def _heaviest(matrix: sp.csr_matrix, per_row: int) -> sp.csr_matrix:
    """`matrix` keeping each row's `per_row` largest entries."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((-matrix.data, rows))
    kept = order[rank_within(rows[order]) < per_row]
    return sp.csr_matrix((matrix.data[kept], (rows[kept], matrix.indices[kept])), shape=matrix.shape)


def lexical(tasks: sp.csr_matrix, may_share: Callable) -> np.ndarray:
    """Pairs (a, b) of rows: each row's nearest rows by task terms."""
    # Terms × rows: each term's postings. The products below are partial cosines, good
    # enough to rank; the scores are computed in full later.
    postings = _heaviest(sp.csr_matrix(tasks.T), POSTINGS)
    query = _heaviest(tasks, QUERY_TERMS)
    found = []
    for start in range(0, tasks.shape[0], CHUNK):
        product = sp.coo_matrix(query[start:start + CHUNK] @ postings)
        a, b, score = product.row + start, product.col, product.data
        keep = (a != b) & may_share(a, b)
        a, b, score = a[keep], b[keep], score[keep]
        order = np.lexsort((b, -score, a))
        a, b = a[order], b[order]
        nearest = rank_within(a) < NEIGHBOURS
        found.append(np.column_stack((a[nearest], b[nearest])))
    return np.concatenate(found) if found else np.empty((0, 2), np.int64)


def semantic(neighbours: np.ndarray, may_share: Callable) -> np.ndarray:
    """Pairs (a, b) from each row's nearest rows by embedding (indices, -1 for none)."""
    a = np.repeat(np.arange(neighbours.shape[0]), neighbours.shape[1])
    b = neighbours.ravel()
    keep = b >= 0
    a, b = a[keep], b[keep]
    keep = (a != b) & may_share(a, b)
    return np.column_stack((a[keep], b[keep]))


def pairs(*found: np.ndarray) -> np.ndarray:
    """The distinct pairs (a < b) among `found`."""
    every = np.concatenate([pair.reshape(-1, 2) for pair in found]).astype(np.int64)
    if not len(every):
        return np.empty((0, 2), np.int64)
    return np.unique(np.sort(every, axis=1), axis=0)
