"""Which use cases may sit in one group, and the groups themselves.

**Who may be a duplicate of whom.** Use cases of different business units; and use cases of
one unit when they are in different sub-units (the bureaus of a federal agency) or clearly
separate systems (each names products, and none in common). Two use cases of one unit and
sub-unit naming no distinct systems are that unit's own records of one effort, not a
duplicate.

**Groups.** Accepted pairs are taken best first; a pair merges the groups of its two use
cases when every pair across them may share a group, the merged group stays within
``MAX_GROUP_SIZE``, the mean score over all pairs across the two is at the policy's floor
or above (average linkage, the missing scores computed) and none is below ``WEAKEST_PAIR``
times the floor: a chain A~B~C~D whose ends are unrelated never becomes one group, and one
capability built by many units becomes one group rather than several.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

MAX_GROUP_SIZE = 40
WEAKEST_PAIR = 0.65


class Membership:
    """The rule of who may share a group, over the judged use cases."""

    def __init__(self, units: np.ndarray, sub_units: np.ndarray, products: sp.csr_matrix):
        self.units = units
        self.sub_units = sub_units  # -1 where the source names none
        self.products = products
        self.names_products = np.diff(products.indptr) > 0

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        other_unit = self.units[a] != self.units[b]
        other_sub_unit = (self.sub_units[a] >= 0) & (self.sub_units[b] >= 0) & (self.sub_units[a] != self.sub_units[b])
        maybe_separate = ~other_unit & ~other_sub_unit & self.names_products[a] & self.names_products[b]
        separate = np.zeros(len(a), bool)
        if maybe_separate.any():
            which = np.flatnonzero(maybe_separate)
            common = np.asarray(self.products[a[which]].multiply(self.products[b[which]]).sum(axis=1)).ravel()
            separate[which] = common == 0
        return other_unit | other_sub_unit | separate


def form_groups(pairs: np.ndarray, score: np.ndarray, may_share: Callable, score_of: Callable,
                floor: float) -> list[list[int]]:
    """Groups of rows from the accepted `pairs` (a < b) and their `score`, best first;
    `score_of(a, b)` scores a pair not among them."""
    known = {(int(a), int(b)): float(s) for (a, b), s in zip(pairs, score)}
    group_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for pair in np.lexsort((pairs[:, 1], pairs[:, 0], -score)):
        x, y = int(pairs[pair, 0]), int(pairs[pair, 1])
        joining = [members[group_of[row]] if row in group_of else [row] for row in (x, y)]
        if joining[0] is joining[1] or len(joining[0]) + len(joining[1]) > MAX_GROUP_SIZE:
            continue
        cross = [(min(u, v), max(u, v)) for u in joining[0] for v in joining[1]]
        left = np.array([u for u, _ in cross])
        right = np.array([v for _, v in cross])
        if not may_share(left, right).all():
            continue
        for edge in cross:
            if edge not in known:
                known[edge] = score_of(*edge)
        scores = [known[edge] for edge in cross]
        if sum(scores) < floor * len(cross) or min(scores) < WEAKEST_PAIR * floor:
            continue
        merged = sorted(joining[0] + joining[1])
        for side in joining:
            members.pop(side[0], None)
        members[merged[0]] = merged
        for row in merged:
            group_of[row] = merged[0]
    return [group for group in members.values() if len(group) > 1]

