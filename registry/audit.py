"""The audit log: one AuditEntry per history row, stage move, sign-off and finding status
change, written by database triggers, and one hash chain over the entries.

Why triggers: history rows are written by the ORM, by simple-history's bulk helpers and by
SQL and COPY (`core.bulk`: a first scan's tens of thousands of findings, imports, the demo).
A trigger on each source table writes the entry in the same statement and transaction,
set-based (PostgreSQL: one statement-level trigger per table over its transition table;
SQLite: a row trigger), so no writer can leave a change out of the log.

Who: the login the row records, else the system actor the application named to the database
(`core.actors.acting`), else "unnamed: written outside the application" — never blank.

Tamper evidence, in two parts:
- `digest`, written by the trigger: SHA-256 of the source row's columns as written. Verifying
  recomputes it from the row: a row changed or deleted behind the application's back no
  longer matches its entry.
- the chain: `seal` gives every entry not yet sealed the next position (`seq`) and
  `chain_hash` = SHA-256(previous chain hash, the entry's content). One chain, in the order
  entries are sealed, not one per record: writers never wait for one another (sealing, not
  writing, takes the chain's lock), one head is one anchor an auditor can keep, and checking
  it is one pass in order. An entry edited or removed breaks the chain at that point.
Scans seal and record the head in their ScanRun (`portfolio`), Celery beat seals every few
minutes, and `verify_audit_trail` checks it all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from django.apps import apps as global_apps
from django.conf import settings
from django.db import connections, transaction

GENESIS = "0" * 64
UNNAMED = "unnamed: written outside the application"
BEFORE_THE_LOG = "before the audit log: no actor recorded"
SEAL_BATCH = 5000
# The advisory lock that lets one sealer at a time extend the chain (PostgreSQL).
SEAL_LOCK = 0x1A5D17
_ARGS_PER_CALL = 90  # json_build_array / json_array take at most 100 and 127 arguments
ENTRY_TABLE = "registry_auditentry"


@dataclass(frozen=True)
class AuditSource:
    """A table whose every inserted row is one entry. SQL expressions read the row as `{r}`."""

    model: str  # app_label.ModelName of the table
    record_type: str
    subject_type: str
    subject_id: str
    unit: str = "NULL"
    kind: str = ("CASE {r}.history_type WHEN '+' THEN 'created' WHEN '-' THEN 'deleted' ELSE 'changed' END")
    at: str = "{r}.history_date"
    user: str = "{r}.history_user_id"
    reason: str = "{r}.history_change_reason"
    record_id: str = "{r}.id"
    # The fields of the row the page shows as old → new (history sources: every tracked field).
    change_fields: tuple[str, ...] = ()
    # Which of the table's rows are entries, as an SQL condition on {r}; blank: every row.
    logged: str = ""

    @property
    def is_history(self) -> bool:
        return self.at == "{r}.history_date"


USE_CASE_UNIT = "(SELECT uc.business_unit_id FROM registry_usecase uc WHERE uc.id = {r}.use_case_id)"
KPI_USE_CASE = "(SELECT k.use_case_id FROM registry_kpi k WHERE k.id = {r}.kpi_id)"


def _of_use_case(model: str, record_type: str) -> AuditSource:
    return AuditSource(model, record_type, "usecase", "{r}.use_case_id", USE_CASE_UNIT)


REGISTRY_SOURCES = (
    AuditSource("registry.HistoricalBusinessUnit", "business unit", "unit", "{r}.id", "{r}.id"),
    AuditSource("registry.HistoricalPerson", "person", "person", "{r}.id", "{r}.business_unit_id"),
    AuditSource("registry.HistoricalDecision", "decision", "decision", "{r}.id", "{r}.business_unit_id"),
    AuditSource("registry.HistoricalUseCase", "use case", "usecase", "{r}.id", "{r}.business_unit_id"),
    _of_use_case("registry.HistoricalKPI", "KPI"),
    AuditSource("registry.HistoricalKPIObservation", "KPI observation", "usecase", KPI_USE_CASE,
                f"(SELECT uc.business_unit_id FROM registry_usecase uc WHERE uc.id = {KPI_USE_CASE})"),
    _of_use_case("registry.HistoricalInvestment", "investment"),
    _of_use_case("registry.HistoricalOMBDetermination", "OMB determination"),
    _of_use_case("registry.HistoricalPracticeRecord", "minimum practice"),
    _of_use_case("registry.HistoricalWaiver", "waiver"),
    _of_use_case("registry.HistoricalEUClassification", "EU AI Act classification"),
    AuditSource("registry.StageTransition", "stage move", "usecase", "{r}.use_case_id", USE_CASE_UNIT,
                kind="'stage move'", at="{r}.occurred_at", user="{r}.actor_id", reason="{r}.reason",
                change_fields=("from_stage", "to_stage")),
    AuditSource("registry.SignOff", "sign-off", "usecase", "{r}.use_case_id", USE_CASE_UNIT,
                kind="'sign-off'", at="{r}.signed_at", user="{r}.signed_by_id", reason="{r}.note",
                change_fields=("stage", "outcome")),
)

_sources: dict[str, AuditSource] = {}


def register_sources(sources: Iterable[AuditSource]) -> None:
    """Make `sources` known to the log's readers (each app registers its own when ready)."""
    for source in sources:
        _sources[source.model] = source


def sources() -> list[AuditSource]:
    return list(_sources.values())


def source_of_table(table: str, apps=global_apps) -> AuditSource | None:
    for source in _sources.values():
        if apps.get_model(source.model)._meta.db_table == table:
            return source
    return None


# --- SQL -------------------------------------------------------------------------------------


def _quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)


def digest_sql(model, alias: str, connection) -> str:
    """SHA-256 (hex) of every column of `model`'s row `alias`, the same expression in the
    trigger and in verification. PostgreSQL renders times in UTC (the trigger functions set
    it; Django's sessions use it)."""
    # By name: a migration's model and the running one list their fields in different orders.
    columns = [f"{alias}.{_quote(connection, column)}" for column in sorted(f.column for f in model._meta.concrete_fields)]
    chunks = [columns[i:i + _ARGS_PER_CALL] for i in range(0, len(columns), _ARGS_PER_CALL)]
    if connection.vendor == "postgresql":
        text = " || '|' || ".join(f"json_build_array({', '.join(chunk)})::text" for chunk in chunks)
        return f"encode(sha256(convert_to({text}, 'UTF8')), 'hex')"
    text = " || '|' || ".join(f"json_array({', '.join(chunk)})" for chunk in chunks)
    return f"SHA256({text})"


def _actor_sql(connection, *, backfill: bool, reason: str) -> str:
    if backfill:
        # Rows written before the log: name what their reason tells (the imports, the demo,
        # the scans and the directory feed wrote them); the rest say no actor was recorded.
        file_of = ("'import of ' || split_part(substr({reason}, 15), ' ', 1)" if connection.vendor == "postgresql" else
                   "'import of ' || CASE WHEN instr(substr({reason}, 15), ' ') > 0 "
                   "THEN substr(substr({reason}, 15), 1, instr(substr({reason}, 15), ' ') - 1) "
                   "ELSE substr({reason}, 15) END").format(reason=reason)
        named = (f"CASE WHEN {reason} LIKE 'imported from %' THEN {file_of} "
                 f"WHEN {reason} = 'demo data' THEN 'demo seed' "
                 f"WHEN {reason} LIKE '%directory feed%' THEN 'directory feed' "
                 f"WHEN {reason} LIKE '%scan%' THEN 'scan' ELSE NULL END")
        return f"COALESCE(u.username, {named}, '{BEFORE_THE_LOG}')"
    context = ("NULLIF(current_setting('lastmile.actor', true), '')" if connection.vendor == "postgresql"
               else "NULLIF(lastmile_actor(), '')")
    return f"COALESCE(u.username, {context}, '{UNNAMED}')"


ENTRY_COLUMNS = ("at", "written_at", "source_table", "source_id", "record_type", "record_id", "subject_type",
                 "subject_id", "business_unit_id", "kind", "actor", "actor_user_id", "reason", "detail", "digest",
                 "chain_hash")


def _entries_select(source: AuditSource, model, *, rows: str, r: str, connection, backfill: bool) -> str:
    """SELECT the ENTRY_COLUMNS of one entry per row of `rows` (a table or transition table
    aliased `r`; SQLite's trigger reads NEW, with no FROM)."""
    users = _quote(connection, global_apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table)
    pk = f"{r}.{_quote(connection, model._meta.pk.column)}"
    sub = {"r": r}
    reason = f"COALESCE({source.reason.format(**sub)}, '')"
    now = "now()" if connection.vendor == "postgresql" else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    detail = "'{}'::jsonb" if connection.vendor == "postgresql" else "'{}'"
    values = [
        source.at.format(**sub), now, f"'{model._meta.db_table}'", pk, f"'{source.record_type}'",
        source.record_id.format(**sub), f"'{source.subject_type}'", source.subject_id.format(**sub),
        source.unit.format(**sub), source.kind.format(**sub), _actor_sql(connection, backfill=backfill, reason=reason),
        f"u.id", reason, detail, digest_sql(model, r, connection), "''",
    ]
    frm = f"FROM {rows} {r} " if rows else "FROM (SELECT 1) one "
    # SQLite's trigger reads the condition in its WHEN clause (see install).
    where = f" WHERE {source.logged.format(**sub)}" if source.logged and rows else ""
    return (f"SELECT {', '.join(values)} {frm}"
            f"LEFT JOIN {users} u ON u.id = {source.user.format(**sub)}{where}" + (f" ORDER BY {pk}" if rows else ""))


def _insert(select: str) -> str:
    return f"INSERT INTO {ENTRY_TABLE} ({', '.join(ENTRY_COLUMNS)}) {select}"


def install(source: AuditSource, *, apps=global_apps, schema_editor=None, backfill: bool = True) -> None:
    """Create `source`'s trigger and, with `backfill`, one entry for each row it already holds."""
    connection = schema_editor.connection if schema_editor else connections["default"]
    model = apps.get_model(source.model)
    table = model._meta.db_table
    name = f"audit_log_{table}"
    with connection.cursor() as cursor:
        if backfill:
            cursor.execute(_insert(_entries_select(source, model, rows=table, r="r", connection=connection,
                                                   backfill=True)))
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SET timezone = 'UTC' AS $$ "
                f"BEGIN {_insert(_entries_select(source, model, rows='new_rows', r='r', connection=connection, backfill=False))}; "
                f"RETURN NULL; END $$"
            )
            cursor.execute(f"DROP TRIGGER IF EXISTS audit_log ON {table}")
            cursor.execute(f"CREATE TRIGGER audit_log AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            when = f"WHEN {source.logged.format(r='NEW')} " if source.logged else ""
            cursor.execute(
                f"CREATE TRIGGER {name} AFTER INSERT ON {table} FOR EACH ROW {when}BEGIN "
                f"{_insert(_entries_select(source, model, rows='', r='NEW', connection=connection, backfill=False))}; END"
            )


def uninstall(source: AuditSource, *, apps=global_apps, schema_editor=None) -> None:
    connection = schema_editor.connection if schema_editor else connections["default"]
    table = apps.get_model(source.model)._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS audit_log ON {table}")
            cursor.execute(f"DROP FUNCTION IF EXISTS audit_log_{table}()")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS audit_log_{table}")
        cursor.execute(f"DELETE FROM {ENTRY_TABLE} WHERE source_table = %s", [table])


# --- the chain -------------------------------------------------------------------------------

CHAINED_FIELDS = ("id", "at", "source_table", "source_id", "record_type", "record_id", "subject_type", "subject_id",
                  "business_unit_id", "kind", "actor", "actor_user_id", "reason", "detail", "digest")


def _content(chained: tuple) -> str:
    values = list(chained)
    values[1] = values[1].isoformat()
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def link(previous_hash: str, chained: tuple) -> str:
    """The chain hash of an entry (its CHAINED_FIELDS, in order) after an entry whose chain
    hash is `previous_hash`."""
    return hashlib.sha256(f"{previous_hash}\n{_content(chained)}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    seq: int
    chain_hash: str

    def __str__(self):
        return f"{self.seq}:{self.chain_hash}"


def _entry_model(apps=global_apps):
    return apps.get_model("registry", "AuditEntry")


def chain_head(*, apps=global_apps) -> ChainHead:
    last = _entry_model(apps).objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", "chain_hash").first()
    return ChainHead(*last) if last else ChainHead(0, GENESIS)


class _Sealed(NamedTuple):
    """An entry's place in the chain, as `seal` writes it (a model instance each cost a first
    scan at 100,000 use cases, sealing the seed's 2.2 million entries, a third of its time)."""

    pk: int
    seq: int
    chain_hash: str


def seal(*, apps=global_apps, using: str = "default") -> ChainHead:
    """Append every committed entry not yet sealed to the chain, in the order they were
    written; returns the new head. One sealer at a time; writers never wait for it."""
    from core.bulk import bulk_update_fields

    entry_model = _entry_model(apps)
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK])
        head = chain_head(apps=apps)
        seq, previous = head.seq, head.chain_hash
        while True:
            # Tuples, not model instances: a first scan seals a hundred thousand entries.
            batch = list(entry_model.objects.using(using).filter(seq__isnull=True).order_by("id")
                         .values_list(*CHAINED_FIELDS)[:SEAL_BATCH])
            if not batch:
                break
            sealed = []
            for chained in batch:
                seq, previous = seq + 1, link(previous, chained)
                sealed.append(_Sealed(chained[0], seq, previous))
            bulk_update_fields(sealed, ["seq", "chain_hash"], model=entry_model, using=using)
    return ChainHead(seq, previous)


def record_event(*, kind: str, record_type: str, subject_type: str, subject_id: int | None, actor: str,
                 reason: str = "", detail: dict | None = None, at=None):
    """An entry for an event the application records itself (no source row): a scan's run."""
    from django.utils import timezone

    detail = detail or {}
    return _entry_model().objects.create(
        at=at or timezone.now(), record_type=record_type, record_id=subject_id, subject_type=subject_type,
        subject_id=subject_id, kind=kind, actor=actor, reason=reason, detail=detail,
        digest=hashlib.sha256(json.dumps(detail, sort_keys=True, default=str).encode()).hexdigest(),
    )


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first thing found wrong, and where."""

    entry_id: int | None
    seq: int | None
    problem: str

    def __str__(self):
        where = f"entry {self.entry_id}" + (f" (chain position {self.seq})" if self.seq else " (not sealed yet)")
        return f"{where}: {self.problem}" if self.entry_id else self.problem


@dataclass
class Verification:
    head: ChainHead
    entries: int = 0
    unsealed: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        return min(self.breaks, key=lambda b: (b.seq is None, b.seq or 0, b.entry_id or 0), default=None)


def _describe(entry_model, entry_id: int) -> str:
    entry = entry_model.objects.filter(pk=entry_id).values("record_type", "record_id", "kind", "at", "actor").first()
    if entry is None:
        return ""
    return (f"{entry['kind']} {entry['record_type']} {entry['record_id']} at {entry['at']:%Y-%m-%d %H:%M:%S} "
            f"by {entry['actor']}")


def _source_breaks(entry_model, connection) -> Iterator[Break]:
    """Entries whose source row changed or is gone; source rows with no entry."""
    quote = connection.ops.quote_name
    for source in sources():
        model = global_apps.get_model(source.model)
        table, pk = model._meta.db_table, quote(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT e.id, e.seq, h.{pk} IS NULL FROM {ENTRY_TABLE} e LEFT JOIN {quote(table)} h ON h.{pk} = e.source_id "
                f"WHERE e.source_table = %s AND (h.{pk} IS NULL OR {digest_sql(model, 'h', connection)} <> e.digest) "
                f"ORDER BY e.seq, e.id LIMIT 1", [table])
            found = cursor.fetchone()
            if found:
                entry_id, seq, removed = found
                what = "was deleted" if removed else "was changed after it was written"
                yield Break(entry_id, seq, f"its {source.record_type} row ({table} {pk.strip(chr(34))} "
                                           f"{_source_id(entry_model, entry_id)}) {what}; "
                                           f"{_describe(entry_model, entry_id)}")
            logged = f"AND {source.logged.format(r='h')} " if source.logged else ""
            cursor.execute(
                f"SELECT h.{pk} FROM {quote(table)} h WHERE NOT EXISTS (SELECT 1 FROM {ENTRY_TABLE} e "
                f"WHERE e.source_table = %s AND e.source_id = h.{pk}) {logged}ORDER BY h.{pk} LIMIT 1", [table])
            found = cursor.fetchone()
            if found:
                yield Break(None, None, f"{table} row {found[0]} has no audit entry: it was written with the "
                                        f"log's trigger turned off")


def _source_id(entry_model, entry_id: int):
    return entry_model.objects.filter(pk=entry_id).values_list("source_id", flat=True).first()


def _chain_breaks(entry_model, anchors: dict[int, str]) -> Iterator[Break]:
    expected_seq, previous = 1, GENESIS
    for *chained, seq, chain_hash in entry_model.objects.filter(seq__isnull=False).order_by("seq").values_list(
            *CHAINED_FIELDS, "seq", "chain_hash").iterator(chunk_size=SEAL_BATCH):
        entry_id = chained[0]
        if seq != expected_seq:
            yield Break(entry_id, seq, f"the entries at chain positions {expected_seq}–{seq - 1} "
                                       f"were removed (the chain jumps from {expected_seq - 1} to {seq})")
            return
        if link(previous, tuple(chained)) != chain_hash:
            yield Break(entry_id, seq, f"the entry was changed after it was sealed; {_describe(entry_model, entry_id)}")
            return
        if seq in anchors and anchors.pop(seq) != chain_hash:
            yield Break(entry_id, seq, "the chain differs from the anchor kept for this position: "
                                       "the log was rewritten up to here")
            return
        expected_seq, previous = expected_seq + 1, chain_hash
    for seq in sorted(anchors):
        yield Break(None, seq, f"the anchor at chain position {seq} is past the chain's end ({expected_seq - 1}): "
                               f"entries were removed from its end")
        return


def verify(*, anchors: Iterable[ChainHead] = (), using: str = "default") -> Verification:
    """Recompute every entry's digest from its source row and the whole chain; compare the
    chain with `anchors` (heads kept elsewhere). Reads only."""
    entry_model = _entry_model()
    connection = connections[using]
    result = Verification(head=chain_head(), entries=entry_model.objects.count(),
                          unsealed=entry_model.objects.filter(seq__isnull=True).count())
    result.breaks.extend(_source_breaks(entry_model, connection))
    result.breaks.extend(_chain_breaks(entry_model, {a.seq: a.chain_hash for a in anchors}))
    return result


def parse_anchor(text: str) -> ChainHead:
    """An anchor as `verify_audit_trail --anchor` and the export write it: `SEQ:HASH`."""
    seq, _, chain_hash = text.strip().partition(":")
    if not seq.isdigit() or len(chain_hash) != 64:
        from core.errors import InvalidInput

        raise InvalidInput(f"An anchor reads SEQ:HASH (a position and 64 hex digits), not {text!r}.", field="anchor")
    return ChainHead(int(seq), chain_hash.lower())
