"""Linking a 2025 row to its report in the 2024 inventory, so its stage history reaches back.

The 2024 file has no ids, so the link is by **agency code and normalised name** (lower case,
letters and digits only, single spaces): ``DHS`` + ``advance rpm maintenance operating reporter
armor``. A pair is linked only when the key is unique in both years (a name given twice in one
file links neither). Linking runs after each import of either year, over every federal row in
the registry, so the order of the imports does not matter, and a link that no longer holds
(a renamed row) is removed. A linked 2025 row's ``stage_entered_on`` is the start of its stage
as the two reports show it together (blank when neither dates it).
"""

from __future__ import annotations

import re
from collections import Counter

from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform

from core.bulk import bulk_update_with_history
from core.text import collapse_whitespace

from ...models import StageTransition, UseCase
from ...selectors.stages import stage_since, steps_of
from .mapping import C24_ABBREVIATION, C24_AGENCY, C24_NAME, OMB_2024, OMB_2025


def report_key(agency: str, name: str) -> tuple[str, str]:
    return collapse_whitespace(agency).upper(), " ".join(re.findall(r"[a-z0-9]+", name.lower()))


def _unique_keys(rows) -> dict[tuple[str, str], int]:
    keyed = [(report_key(agency or "", name or ""), pk) for pk, agency, name in rows]
    counts = Counter(key for key, _ in keyed)
    return {key: pk for key, pk in keyed if counts[key] == 1 and key[1]}


def planned_links() -> dict[int, int]:
    """{2025 use case id: its 2024 use case id} for every pair the keys link."""
    rows_2025 = (
        UseCase.objects.filter(source_format=OMB_2025)
        .annotate(agency=KeyTextTransform("agency", "source_record"), name=KeyTextTransform("use_case_name", "source_record"))
        .values_list("pk", "agency", "name")
    )
    rows_2024 = [
        (pk, abbreviation or agency, name)
        for pk, abbreviation, agency, name in UseCase.objects.filter(source_format=OMB_2024)
        .annotate(abbreviation=KeyTextTransform(C24_ABBREVIATION, "source_record"),
                  agency=KeyTextTransform(C24_AGENCY, "source_record"), name=KeyTextTransform(C24_NAME, "source_record"))
        .values_list("pk", "abbreviation", "agency", "name")
    ]
    earlier = _unique_keys(rows_2024)
    return {pk: earlier[key] for key, pk in _unique_keys(rows_2025).items() if key in earlier}


def link_reports(*, actor, reason: str) -> int:
    """Link (and unlink) 2025 rows to their 2024 rows; returns how many are linked."""
    links = planned_links()
    candidates = list(
        UseCase.objects.filter(source_format=OMB_2025).filter(Q(pk__in=list(links)) | Q(earlier_report__isnull=False))
    )
    history_of = {}
    for transition in StageTransition.objects.filter(
        use_case_id__in={uc.pk for uc in candidates} | set(links.values())
    ):
        history_of.setdefault(transition.use_case_id, []).append(transition)
    changed = []
    for use_case in candidates:
        earlier_id = links.get(use_case.pk)
        transitions = history_of.get(use_case.pk, []) + (history_of.get(earlier_id, []) if earlier_id else [])
        since = stage_since(steps_of(transitions), use_case.stage)
        entered_on = since.day if since.exact else None
        if (use_case.earlier_report_id, use_case.stage_entered_on) != (earlier_id, entered_on):
            use_case.earlier_report_id, use_case.stage_entered_on = earlier_id, entered_on
            use_case.version += 1
            changed.append(use_case)
    if changed:
        bulk_update_with_history(changed, ["earlier_report", "stage_entered_on", "version"],
                                 default_user=actor, default_change_reason=reason)
    return len(links)
