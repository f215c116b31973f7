"""The audit log as rows: filtered, a page at a time or streamed whole, each entry with what
changed (old → new, read from its history row and the one before it), the record it belongs
to and that record's unit. Queries per page or per exported batch are bounded by the number of
kinds of record in it, never by its size."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.db import connections
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import formats, timezone

from core.errors import DomainError, InvalidInput, NotFound
from core.spreadsheet import EscapingWriter

from .. import access
from ..audit import AuditSource, source_of_table, sources
from ..models import AuditEntry, BusinessUnit

PAGE_SIZE = 50
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_ACTOR = 200
RECORD_PART_SIZE = 100
EXPORT_BATCH = 1000
# Bookkeeping every history row carries, not a change anyone made; and a finding's machine
# keys and raw detail (its page says them in words).
UNSHOWN_FIELDS = {"history_id", "history_date", "history_change_reason", "history_type", "history_user",
                  "version", "updated_at", "id", "fingerprint", "substance", "detail"}
# What the page links to, by the entry's subject.
SUBJECT_MODELS = {"usecase": ("registry", "UseCase", "title"), "decision": ("registry", "Decision", "statement"),
                  "person": ("registry", "Person", "email"), "unit": ("registry", "BusinessUnit", "name"),
                  "finding": ("portfolio", "Finding", "title"), "scan": ("portfolio", "ScanRun", None),
                  "policy": ("portfolio", "Policy", None)}


@dataclass(frozen=True)
class AuditFilter:
    since: datetime.date | None = None
    until: datetime.date | None = None
    unit: BusinessUnit | None = None
    record_type: str = ""
    actor: str = ""
    kind: str = ""
    subject_type: str = ""
    subject_id: int | None = None

    def as_query(self) -> dict[str, str]:
        """The filter as URL parameters (the export links keep them)."""
        values = {"since": self.since, "until": self.until, "unit": self.unit.pk if self.unit else None,
                  "record_type": self.record_type, "actor": self.actor, "kind": self.kind,
                  "subject_type": self.subject_type, "subject_id": self.subject_id}
        return {name: str(value) for name, value in values.items() if value not in (None, "")}


def record_types() -> list[str]:
    return sorted({source.record_type for source in sources()} | {"scan run"})


def whole_number(text: str) -> int | None:
    """`text` as an id the database can hold (1 or more), or None."""
    return int(text) if text.isascii() and text.isdigit() and 1 <= int(text) < 2**63 else None


def _date(params, name: str, problems: list[InvalidInput]) -> datetime.date | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        if not ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return datetime.date.fromisoformat(text)
    except ValueError:
        problems.append(InvalidInput(f"{name} must be a date, YYYY-MM-DD (not {text!r}).", field=name))
        return None


def read_filter(params) -> tuple[AuditFilter, list[DomainError]]:
    """The filter of URL parameters `params`; a parameter that makes no sense is left out and
    named in the problems returned (InvalidInput; NotFound for a unit that does not exist)."""
    problems: list[DomainError] = []
    since, until = _date(params, "since", problems), _date(params, "until", problems)
    unit = None
    if text := (params.get("unit") or "").strip():
        pk = whole_number(text)
        unit = BusinessUnit.objects.filter(pk=pk).first() if pk is not None else None
        if pk is None:
            problems.append(InvalidInput(f"unit is the id of a business unit, a whole number (not {text!r}).",
                                         field="unit"))
        elif unit is None:
            problems.append(NotFound(f"No business unit with id {pk}."))
    record_type = (params.get("record_type") or "").strip()
    if record_type and record_type not in record_types():
        problems.append(InvalidInput(f"Unknown record type {record_type!r}; known: {', '.join(record_types())}.",
                                     field="record_type"))
        record_type = ""
    kind = (params.get("kind") or "").strip()
    if kind and kind not in AuditEntry.Kind.values:
        problems.append(InvalidInput(f"Unknown kind of change {kind!r}; known: {', '.join(AuditEntry.Kind.values)}.",
                                     field="kind"))
        kind = ""
    subject_type = (params.get("subject_type") or "").strip()
    if subject_type and subject_type not in SUBJECT_MODELS:
        problems.append(InvalidInput(f"Unknown subject_type {subject_type!r}; known: {', '.join(SUBJECT_MODELS)}.",
                                     field="subject_type"))
        subject_type = ""
    subject_id = None
    if text := (params.get("subject_id") or "").strip():
        subject_id = whole_number(text)
        if subject_id is None:
            problems.append(InvalidInput(f"subject_id is a record's id, a whole number (not {text!r}).",
                                         field="subject_id"))
    actor = (params.get("actor") or "").strip()
    if "\x00" in actor or len(actor) > MAX_ACTOR:
        problems.append(InvalidInput(f"actor is part of a name: at most {MAX_ACTOR} characters, no NUL.",
                                     field="actor"))
        actor = ""
    return AuditFilter(since=since, until=until, unit=unit, record_type=record_type, actor=actor, kind=kind,
                       subject_type=subject_type, subject_id=subject_id), problems


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def entries(actor, audit_filter: AuditFilter = AuditFilter()) -> QuerySet[AuditEntry]:
    """The entries `actor` may read under `audit_filter`, newest first."""
    access.access_audit_log(actor)
    queryset = AuditEntry.objects.all()
    f = audit_filter
    if f.since:
        queryset = queryset.filter(at__gte=_start_of(f.since))
    if f.until and f.until < datetime.date.max:
        queryset = queryset.filter(at__lt=_start_of(f.until + datetime.timedelta(days=1)))
    if f.unit:
        # A finding has no unit of its own: it is the unit's when it concerns one of its use cases.
        links = apps.get_model("portfolio", "Finding").use_cases.through.objects
        unit_findings = links.filter(usecase__business_unit=f.unit).values("finding_id")
        queryset = queryset.filter(Q(business_unit=f.unit) | Q(subject_type="finding", subject_id__in=unit_findings))
    if f.record_type:
        queryset = queryset.filter(record_type=f.record_type)
    if f.actor:
        queryset = queryset.filter(actor__icontains=f.actor)
    if f.kind:
        queryset = queryset.filter(kind=f.kind)
    if f.subject_type:
        queryset = queryset.filter(subject_type=f.subject_type)
    if f.subject_id is not None:
        queryset = queryset.filter(subject_id=f.subject_id)
    return queryset.order_by("-at", "-id")


def with_audit_actor(history: QuerySet) -> QuerySet:
    """History rows annotated with `audit_actor`: who the audit log says wrote each (the admin's
    history names an import, a scan or the demo rather than "None")."""
    entries_of_row = AuditEntry.objects.filter(source_table=history.model._meta.db_table,
                                               source_id=OuterRef("history_id"))
    return history.annotate(audit_actor=Subquery(entries_of_row.values("actor")[:1]))


def record_part(subject_type: str, subject_id: int, *, limit: int = RECORD_PART_SIZE) -> list[AuditRow]:
    """The latest of a record's own part of the log, for its page: whoever may open the record
    (its access function said so) reads who changed it."""
    return rows_for(list(AuditEntry.objects.filter(subject_type=subject_type, subject_id=subject_id)
                         .order_by("-at", "-id")[:limit]))


# --- rows --------------------------------------------------------------------------------------


@dataclass
class AuditRow:
    entry: AuditEntry
    subject_label: str = ""
    unit_name: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)

    def __getattr__(self, name):
        return getattr(self.entry, name)


def _shown(value) -> str:
    if value is None or value == "" or value == {} or value == []:
        return "—"
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        # Amounts grouped as the pages write them (167,000; 1,234.50).
        return formats.number_format(value, decimal_pos=0 if value == value.to_integral_value() else 2,
                                     force_grouping=True)
    return str(value)


def _labels_of(refs: dict[type, set]) -> dict[tuple[type, object], str]:
    """str() of the rows each foreign key of a page points to: one query per model."""
    labels = {}
    for model, ids in refs.items():
        for pk, obj in model._base_manager.in_bulk(list(ids)).items():
            labels[model, pk] = str(obj)
    return labels


def _history_changes(source: AuditSource, model, source_ids: list[int]) -> dict[int, list[tuple[str, str, str]]]:
    """Old → new of each history row in `source_ids`, against the record's row before it."""
    pk_name = model._meta.pk.name  # history_id
    record_key = model.instance_type._meta.pk.attname
    earlier = model._base_manager.filter(**{record_key: OuterRef(record_key), "history_id__lt": OuterRef("history_id")})
    rows = list(model._base_manager.filter(**{f"{pk_name}__in": source_ids}).annotate(
        previous_id=Subquery(earlier.order_by("-history_id").values("history_id")[:1])))
    previous = model._base_manager.in_bulk([r.previous_id for r in rows if r.previous_id])
    fields = [f for f in model._meta.concrete_fields if f.name not in UNSHOWN_FIELDS]
    refs: dict[type, set] = defaultdict(set)
    for row in [*rows, *previous.values()]:
        for f in fields:
            if f.is_relation and getattr(row, f.attname) is not None:
                refs[f.related_model].add(getattr(row, f.attname))
    labels = _labels_of(refs)

    choices = {f.attname: dict(f.flatchoices) for f in fields if f.choices}
    names = {f.attname: str(f.verbose_name) for f in fields}

    def shown(f, value) -> str:
        if f.is_relation and value is not None:
            return labels.get((f.related_model, value), f"#{value}")
        if f.attname in choices and value not in (None, ""):
            return str(choices[f.attname].get(value, value))
        return _shown(value)

    changes = {}
    for row in rows:
        before = previous.get(row.previous_id)
        changed = []
        for f in fields:
            old = getattr(before, f.attname) if before is not None else None
            new = getattr(row, f.attname)
            if old != new:
                old_text, new_text = shown(f, old), shown(f, new)
                if old_text != new_text:
                    changed.append((names[f.attname], old_text, new_text))
        changes[row.pk] = changed
    return changes


def _event_changes(source: AuditSource, model, source_ids: list[int]) -> dict[int, list[tuple[str, str, str]]]:
    """A stage move, a sign-off or a finding's status change, in words."""
    fields = [model._meta.get_field(name) for name in source.change_fields]
    changes = {}
    for row in model._base_manager.filter(pk__in=source_ids).only("pk", *source.change_fields):
        values = [str(dict(f.flatchoices).get(getattr(row, f.attname), getattr(row, f.attname)) or "—") for f in fields]
        if len(fields) == 2 and fields[0].name.startswith("from_"):
            changes[row.pk] = [(fields[1].name.removeprefix("to_"), values[0], values[1])]
        else:
            changes[row.pk] = [(str(f.verbose_name), "—", value) for f, value in zip(fields, values)]
    return changes


def _subject_labels(entries_: list[AuditEntry]) -> dict[tuple[str, int], str]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for entry in entries_:
        if entry.subject_id is not None:
            wanted[entry.subject_type].add(entry.subject_id)
    labels = {}
    for subject_type, ids in wanted.items():
        app_label, model_name, label_field = SUBJECT_MODELS[subject_type]
        model = apps.get_model(app_label, model_name)
        if label_field is None:
            labels.update({(subject_type, pk): f"{model._meta.verbose_name} {pk}" for pk in ids})
            continue
        for pk, label in model._base_manager.filter(pk__in=ids).values_list("pk", label_field):
            labels[subject_type, pk] = label
    return labels


def rows_for(entries_: list[AuditEntry]) -> list[AuditRow]:
    """Each entry with its changes, its record's name and its unit's."""
    by_source: dict[str, list[int]] = defaultdict(list)
    for entry in entries_:
        if entry.source_table:
            by_source[entry.source_table].append(entry.source_id)
    changes: dict[tuple[str, int], list] = {}
    for table, ids in by_source.items():
        source = source_of_table(table)
        if source is None:
            continue
        model = apps.get_model(source.model)
        found = (_history_changes if source.is_history else _event_changes)(source, model, ids)
        changes.update({(table, pk): value for pk, value in found.items()})
    subjects = _subject_labels(entries_)
    units = dict(BusinessUnit.objects.filter(pk__in={e.business_unit_id for e in entries_ if e.business_unit_id})
                 .values_list("pk", "name"))
    rows = []
    for entry in entries_:
        row = AuditRow(entry, subject_label=subjects.get((entry.subject_type, entry.subject_id), ""),
                       unit_name=units.get(entry.business_unit_id, ""))
        if entry.source_table:
            row.changes = changes.get((entry.source_table, entry.source_id), [])
        else:
            row.changes = [(name, "—", _shown(value)) for name, value in entry.detail.items()]
        rows.append(row)
    return rows


def page(queryset: QuerySet[AuditEntry], *, before: tuple[datetime.datetime, int] | None = None,
         size: int = PAGE_SIZE) -> tuple[list[AuditRow], tuple[datetime.datetime, int] | None]:
    """One page of rows newest first, after the entry `before` (at, id); and the key of the
    next page, or None at the end. Keyset paging: as fast on the last page as on the first."""
    if before is not None:
        # A row comparison, which the index on (at, id) answers as a range: an OR of the two
        # conditions would be filtered from the newest entry down on every page.
        table, (at, pk) = AuditEntry._meta.db_table, before
        at = connections[queryset.db].ops.adapt_datetimefield_value(at)
        queryset = queryset.extra(where=[f'("{table}"."at", "{table}"."id") < (%s, %s)'], params=[at, pk])
    found = list(queryset[: size + 1])
    more = len(found) > size
    found = found[:size]
    return rows_for(found), ((found[-1].at, found[-1].pk) if more else None)


def stream(queryset: QuerySet[AuditEntry]) -> Iterator[AuditRow]:
    """Every row of `queryset`, newest first, EXPORT_BATCH at a time: memory holds one batch,
    whatever the log's size."""
    key = None
    while True:
        rows, key = page(queryset, before=key, size=EXPORT_BATCH)
        yield from rows
        if key is None:
            return


# --- export ------------------------------------------------------------------------------------

EXPORT_COLUMNS = ("at", "actor", "kind", "record_type", "record_id", "record", "subject_type", "subject_id",
                  "business_unit", "changes", "reason", "seq", "chain_hash", "digest", "entry_id")
EXPORT_FORMATS = ("csv", "jsonl")


def export_record(row: AuditRow) -> dict:
    entry = row.entry
    return {
        "at": entry.at.isoformat(), "actor": entry.actor, "kind": entry.kind, "record_type": entry.record_type,
        "record_id": entry.record_id, "record": row.subject_label, "subject_type": entry.subject_type,
        "subject_id": entry.subject_id, "business_unit": row.unit_name,
        "changes": [{"field": name, "old": old, "new": new} for name, old, new in row.changes],
        "reason": entry.reason, "seq": entry.seq, "chain_hash": entry.chain_hash, "digest": entry.digest,
        "entry_id": entry.pk,
    }


def export_lines(queryset: QuerySet[AuditEntry], file_format: str) -> Iterator[str]:
    """The rows of `queryset` as CSV (a header, then a line per entry; a cell a spreadsheet
    would run is written as text) or JSON Lines, a line at a time."""
    if file_format == "jsonl":
        for row in stream(queryset):
            yield json.dumps(export_record(row), ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = EscapingWriter(csv.writer(buffer))

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(EXPORT_COLUMNS)
    for row in stream(queryset):
        record = export_record(row)
        record["changes"] = "; ".join(f"{c['field']}: {c['old']} → {c['new']}" for c in record["changes"])
        yield line([record[column] for column in EXPORT_COLUMNS])
