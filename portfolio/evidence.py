"""A finding's evidence as a person reads it: sentences and tables, never a dump of `detail`.

`present(kind, detail, members=…, member_count=…)` returns an `Evidence`: a list of sentences
and zero or more `Table`s (caption, headings, rows of `Cell`s, which may link to a use case or
a decision by id). The pages (the findings list, a finding's own page, the admin) and the
digest emails all render this one structure; where space is short, `evidence.capped(n)` keeps
each table's first n rows and says how many it left out (`table.more`).

Each kind has one function in `PRESENTERS`, reading through a `Facts` the keys its detector
writes today. Detectors change: any key a kind's function did not read, and every key of a
kind without a function, is shown by the generic fallback (humanised labels, lists as lists,
a dict of scalars as a two-column table, a list of dicts as a table), so a new key reads as a
labelled fact the day it appears. To give a new detail shape its own words, write
`def _my_kind(facts: Facts, members: Members) -> Evidence` and add it to `PRESENTERS`.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import formats

from registry import sources
from registry.models import Frequency, Practice, PracticeStatus, Stage

from .detectors.orphaned_ownership import ROLE_LABEL
from .models import FindingKind

# --- What the presenter returns -------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    use_case: int | None = None  # the id of the use case the cell names, to link it
    decision: int | None = None


@dataclass
class Table:
    caption: str
    headings: list[str]
    rows: list[list[Cell]]
    total: int | None = None  # the rows there are, when more than those shown
    members: bool = False  # the finding's use cases: a page that lists them all pages this one

    @property
    def more(self) -> int:
        """The rows left out: what "… and N more" says."""
        return max((self.total or 0) - len(self.rows), 0)

    @property
    def total_text(self) -> str:
        return number(self.total or len(self.rows))

    @property
    def more_text(self) -> str:
        return number(self.more)


@dataclass
class Evidence:
    sentences: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    def capped(self, rows: int) -> Evidence:
        """The same evidence with each table's first `rows` rows: "… and N more" says the rest."""
        return Evidence(self.sentences, [
            Table(t.caption, t.headings, t.rows[:rows], total=max(t.total or 0, len(t.rows)), members=t.members)
            for t in self.tables
        ])


@dataclass(frozen=True)
class Member:
    """A use case a finding concerns, as its evidence names it."""

    pk: int
    key: str  # the external id, else the id: how a detector's detail names a use case
    title: str
    stage: str
    unit: str

    @classmethod
    def of(cls, use_case) -> Member:
        return cls(use_case.pk, use_case.external_id or str(use_case.pk), use_case.title, use_case.stage,
                   use_case.business_unit.name)


@dataclass(frozen=True)
class Members:
    """The members shown (possibly a page or the first few) and how many the finding has."""

    shown: Sequence[Member] = ()
    count: int = 0

    def by_key(self) -> dict[str, Member]:
        return {member.key: member for member in self.shown}


class Facts:
    """A finding's `detail`, remembering which keys were read: the rest go to the fallback."""

    def __init__(self, detail):
        self._detail = detail if isinstance(detail, dict) else ({"detail": detail} if detail not in (None, "") else {})
        self._read: set[str] = set()

    def __getitem__(self, key: str):
        return self.get(key)

    def get(self, key: str, default=None):
        self._read.add(key)
        value = self._detail.get(key)
        return default if value is None else value

    def has(self, key: str) -> bool:
        """Whether the detector wrote `key` at all (None included: "no owner" is a fact)."""
        return key in self._detail

    def unread(self) -> dict:
        return {key: value for key, value in self._detail.items() if key not in self._read}


# --- Words and numbers -----------------------------------------------------------------------

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_ACRONYMS = {"kpi": "KPI", "kpis": "KPIs", "id": "ID", "ids": "IDs", "url": "URL", "omb": "OMB", "ai": "AI"}


def label(key) -> str:
    """`days_in_stage` → "Days in stage", `limit_days` → "Limit (days)", `kpis` → "KPIs"."""
    words = str(key).replace("-", "_").split("_")
    unit = ""
    if len(words) > 1 and words[-1] in ("days", "pct", "percent"):
        unit = " (days)" if words[-1] == "days" else " (%)"
        words = words[:-1]
    text = " ".join(_ACRONYMS.get(word.lower(), word) for word in words if word)
    return (text[:1].upper() + text[1:]) + unit


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


def listed(items: Iterable) -> str:
    """"a", "a and b", "a, b and c"."""
    words = [text(item) for item in items]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def number(value, places: int = 2) -> str:
    """A number as the settings' locale writes it, grouped (en: 1234 → "1,234"; 0.61803 →
    "0.62"; 12.0 → "12"): the one way pages, digests and the admin write numbers."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, (float, Decimal)) and value == int(value)):
        return formats.number_format(int(value), force_grouping=True)
    text = formats.number_format(round(value, places), decimal_pos=places, force_grouping=True)
    decimal_separator = formats.get_format("DECIMAL_SEPARATOR")
    return text.rstrip("0").rstrip(decimal_separator) if decimal_separator in text else text


def money(value) -> str:
    """A cost in the registry's currency, to the unit: "118,976 EUR"."""
    return f"{number(round(value))} {settings.LAST_MILE_CURRENCY}"


def date(value) -> str:
    """2026-03-01 as it is; a moment to the minute: 2026-03-01 09:30."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return value[:16].replace("T", " ")
    return str(value)


# A stage as a sentence says it: "it is in pilot", "being validated since 2026-03-01".
STAGE_PHRASE = {Stage.PROPOSED: "proposed", Stage.VALIDATING: "being validated", Stage.PILOT: "in pilot",
                Stage.PRODUCTION: "in production", Stage.RETIRED: "retired"}


def stage(value) -> str:
    """A stage as a table cell or a label: "Pilot"."""
    return Stage(value).label if value in Stage.values else text(value)


def at_stage(value) -> str:
    return STAGE_PHRASE.get(value) or f"in {text(value)}"


def text(value) -> str:
    """Any detail value as words: no repr, no brackets, no quotes."""
    if value is None or value == "":
        return "—"
    if isinstance(value, (bool, int, float)):
        return number(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return date(value)
    if isinstance(value, str):
        return date(value) if _ISO_DATETIME.match(value) else value
    if isinstance(value, dict):
        return "; ".join(f"{label(key)}: {text(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(text(item) for item in value) or "—"
    return str(value)


def _days(count) -> str:
    return plural(int(count), "day")


def _source(name) -> str:
    return sources.SOURCES[name].label if name in sources.SOURCES else f"the {name} import"


# --- Tables every kind uses -------------------------------------------------------------------


def use_case_cell(member: Member) -> Cell:
    return Cell(member.title, use_case=member.pk)


def members_table(members: Members, *, caption: str = "Use cases", unit_first: bool = False) -> Table | None:
    """The finding's use cases, when it has more than one (one is named by the finding itself)."""
    if members.count < 2 or not members.shown:
        return None
    if unit_first:
        headings = ["Business unit", "Use case", "Stage"]
        rows = [[Cell(m.unit), use_case_cell(m), Cell(stage(m.stage))] for m in members.shown]
    else:
        headings = ["Use case", "Stage", "Business unit"]
        rows = [[use_case_cell(m), Cell(stage(m.stage)), Cell(m.unit)] for m in members.shown]
    return Table(caption, headings, rows, total=members.count, members=True)


def _scalar(value) -> bool:
    return not isinstance(value, (dict, list, tuple))


def fallback(facts: dict) -> Evidence:
    """Facts nobody wrote words for, as labelled sentences, lists and tables."""
    evidence = Evidence()
    for key, value in facts.items():
        name = label(key)
        if _scalar(value):
            evidence.sentences.append(f"{name}: {text(value)}.")
        elif isinstance(value, dict):
            if all(_scalar(item) for item in value.values()):
                evidence.tables.append(Table(name, ["", ""], [[Cell(label(k)), Cell(text(v))] for k, v in value.items()]))
            else:
                evidence.sentences.append(f"{name}: {text(value)}.")
        elif value and all(isinstance(item, dict) for item in value):
            columns = list(dict.fromkeys(k for item in value for k in item))
            rows = [[Cell(text(item.get(column))) for column in columns] for item in value]
            evidence.tables.append(Table(name, [label(column) for column in columns], rows))
        elif len(value) > 12 and all(_scalar(item) for item in value):
            evidence.tables.append(Table(name, [name], [[Cell(text(item))] for item in value]))
        else:
            evidence.sentences.append(f"{name}: {listed(value) if value else 'none'}.")
    return evidence


# --- One function per kind --------------------------------------------------------------------


_ACTIVITY = {"stage_move": "the move into the stage", "kpi_observation": "a KPI observation", "edit": "an edit"}


def _stalled_pilot(facts: Facts, members: Members) -> Evidence:
    said = []
    since, days, limit = facts["stage_entered_on"], facts["days_in_stage"], facts["limit_days"]
    # An imported row may only say its stage began by some day: its days are a lower bound.
    exact = facts.get("stage_entered_on_exact", True)
    judged_on, inventory_on = facts["judged_on"], facts["inventory_as_of"]
    by = "by the scan's date"
    if judged_on:
        by = f"by {date(judged_on)}" + (", the inventory's date" if judged_on == inventory_on else "")
    elif inventory_on:
        said.append(f"The inventory is dated {date(inventory_on)}.")
    if days is not None:
        over = days - limit if limit is not None else None
        judged = ("" if over is None else f", {over:,} over the {limit:,}-day limit" if over > 0
                  else f", within the {limit:,}-day limit")
        phrase = at_stage(facts["stage"]) if facts["stage"] else "in its stage"
        where = phrase[:1].upper() + phrase[1:] + (f" since {date(since)}{'' if exact else ' or earlier'}" if since else "")
        said.append(f"{where}: {'' if exact else 'at least '}{_days(days)} {by}{judged}.")
    idle, idle_limit = facts["days_since_activity"], facts["inactivity_limit_days"]
    last, last_kind = facts["last_activity"], facts["last_activity_kind"]
    what = f"{_ACTIVITY.get(last_kind, 'a ' + text(last_kind))} on {date(last)}" if last_kind and last else None
    if idle is not None and idle_limit is not None and idle > idle_limit:
        said.append(f"No activity for {_days(idle)}, {idle - idle_limit:,} over the {idle_limit:,}-day limit"
                    + (f": the last was {what}." if what else "."))
    elif what:
        said.append(f"The last activity was {what}.")
    cost, per_day, over = facts["estimated_cost_of_delay"], facts["cost_of_delay_per_day"], facts["days_over"]
    if cost is not None and per_day is not None and over is not None:
        said.append(f"At the decision's stated cost of delay of {money(per_day)} a day, the {_days(over)} over "
                    f"cost an estimated {money(cost)}.")
    frequency = facts["decision_frequency"]
    if frequency:
        said.append(f"The decision it serves is made {Frequency(frequency).label.lower() if frequency in Frequency.values else text(frequency)}.")
    facts.get("reasons")  # the sentences above say the same, with their numbers
    return Evidence(said, [t for t in [members_table(members)] if t])


def _duplicate_capability(facts: Facts, members: Members) -> Evidence:
    said = []
    units, terms = facts.get("business_units", []), facts.get("shared_terms", [])
    listed_members = facts.get("members", [])
    count = members.count or len(listed_members) or len(units)
    where = f" in {listed(units)}" if units else ""
    capability = facts["capability"]
    said.append(f"{plural(count, 'use case')}{where} "
                + (f"build the same capability: {capability}." if capability else "appear to solve the same problem.")
                + (f" They share the words {listed(terms)}." if terms else ""))
    products = facts.get("products", [])
    if products:
        said.append(f"They name the same {'product' if len(products) == 1 else 'products'}: {listed(products)}.")
    similarity = facts.get("similarity")
    pairs = facts.get("pairs", [])
    if isinstance(similarity, dict) and {"min", "mean"} <= similarity.keys() and len(pairs) == 1:
        said.append(f"Their descriptions are {number(similarity['mean'])} alike (0 is nothing in common, 1 the same words).")
    elif isinstance(similarity, dict) and {"min", "mean"} <= similarity.keys():
        said.append(f"Their descriptions are {number(similarity['mean'])} alike on average (0 is nothing in "
                    f"common, 1 the same words), {number(similarity['min'])} for the least alike pair.")
    elif similarity is not None:
        said.append(f"Similarity: {text(similarity)}.")
    group = _group_table(listed_members, members) or members_table(members, caption="Use cases", unit_first=True)
    if pairs and not all(isinstance(pair, dict) for pair in pairs):
        said.append(f"Pairs: {text(pairs)}.")
    titles = {str(m.get("use_case")): m["title"] for m in listed_members if isinstance(m, dict) and m.get("title")}
    return Evidence(said, [t for t in (group, _pairs_table(pairs, members, titles)) if t])


# The columns of a duplicate group's members and pairs, in this order, with their headings;
# a key not named here follows, labelled.
_MEMBER_COLUMNS = {"business_unit": "Business unit", "sub_unit": "Sub-unit", "use_case": "Use case", "stage": "Stage"}
_PAIR_COLUMNS = {"score": "Similarity", "lexical": "Same words", "semantic": "Same meaning", "terms": "Shared words",
                 "products": "Shared products"}


def _group_table(listed_members, members: Members) -> Table | None:
    """The group's members as the detector lists them (with their sub-units, say), each linked
    when it is among the members shown; none when the detail lists none."""
    if not listed_members or not all(isinstance(member, dict) for member in listed_members):
        return None
    known = members.by_key()
    extra = [k for k in dict.fromkeys(k for m in listed_members for k in m) if k not in _MEMBER_COLUMNS and k != "title"]
    columns = [c for c in _MEMBER_COLUMNS if any(m.get(c) for m in listed_members)] + extra

    def cell(member: dict, column: str) -> Cell:
        if column == "use_case":
            shown = known.get(str(member.get("use_case")))
            title = member.get("title") or (shown.title if shown else text(member.get("use_case")))
            return Cell(title, use_case=shown.pk if shown else None)
        if column == "stage":
            return Cell(stage(member.get("stage")))
        return Cell(text(member.get(column)))

    rows = [[cell(member, column) for column in columns] for member in listed_members]
    headings = [_MEMBER_COLUMNS.get(column) or label(column) for column in columns]
    return Table("Use cases", headings, rows, total=max(members.count, len(rows)), members=True)


def _pairs_table(pairs, members: Members, titles: dict[str, str]) -> Table | None:
    """Each pair's scores and what it shares, its use cases linked; none for a single pair
    that carries only its score, which the sentences give."""
    if not pairs or not all(isinstance(pair, dict) for pair in pairs):
        return None
    present_columns = dict.fromkeys(k for pair in pairs for k in pair if k != "use_cases")
    if len(pairs) == 1 and set(present_columns) <= {"score"}:
        return None
    columns = [c for c in _PAIR_COLUMNS if c in present_columns] + [c for c in present_columns if c not in _PAIR_COLUMNS]
    known = members.by_key()

    def named(key) -> Cell:
        member = known.get(str(key))
        return use_case_cell(member) if member else Cell(titles.get(str(key)) or text(key))

    rows = []
    for pair in pairs:
        ends = list(pair.get("use_cases") or [])[:2] + [None, None]
        rows.append([named(ends[0]), named(ends[1])] + [Cell(text(pair.get(column))) for column in columns])
    headings = ["Use case", "Use case"] + [_PAIR_COLUMNS.get(column) or label(column) for column in columns]
    return Table("How alike each pair is", headings, rows)


def _orphaned_ownership(facts: Facts, members: Members) -> Evidence:
    role = ROLE_LABEL.get(facts["role"], text(facts["role"]))
    problem, owner, obj = facts["problem"], facts["owner"], facts["object"]
    count = facts.get("count", members.count)
    units = facts.get("business_units") or ([facts["business_unit"]] if facts["business_unit"] else [])
    of_units = (f" of {units[0]}" if len(units) == 1 else f" in {len(units)} units" + (f": {listed(units)}" if len(units) <= 5 else "")
                if units else "")
    said = []
    if obj in ("use_cases", "business_unit") and problem == "generic_mailbox":
        in_production = facts.get("in_production", 0)
        said.append(f"{owner}, a shared mailbox, is the only {role} of {plural(count, 'use case')}{of_units}"
                    + (f", {in_production:,} of them in production." if in_production else "."))
        said.append("A mailbox is nobody: each use case needs a person who answers for it.")
    elif obj in ("use_cases", "business_unit") and problem == "missing":
        in_stage = f" {at_stage(facts['stage'])}" if facts["stage"] else ""
        came = f", imported from {_source(facts['source'])}," if facts["source"] else ""
        said.append(f"{plural(count, 'use case')}{of_units}{in_stage}{came} "
                    f"{'names' if count == 1 else 'name'} no {role}: nobody answers for a running system.")
    elif problem == "concentration":
        said.append(f"{owner} is the {role} of every owned use case{of_units}: {plural(count, 'use case')}.")
        without = facts.get("without_owner", 0)
        if without:
            said.append(f"{plural(without, 'more use case', 'more use cases')} of the unit {'has' if without == 1 else 'have'} no {role}.")
        said.append("One departure leaves the whole unit's portfolio without an owner.")
    else:
        subject = "the decision" if obj == "decision" else "the use case"
        if problem == "missing":
            needs = f", which it needs now that it is {at_stage(facts['stage'])}" if facts["stage"] else ""
            said.append(f"Nobody is named as {role} of {subject}{needs}.")
        elif problem == "left":
            said.append(f"The {role} of {subject}, {owner}, has left the company.")
        elif problem == "generic_mailbox":
            said.append(f"The {role} of {subject} is {owner}, a shared mailbox, not a person.")
        elif problem == "unconfirmed":
            days, limit = facts["days_since_confirmation"], facts["confirmation_limit_days"]
            if days is None:
                said.append(f"The {role} of {subject}, {owner}, has never confirmed owning it.")
            else:
                said.append(f"The {role} of {subject}, {owner}, last confirmed owning it on {date(facts['confirmed_on'])}: "
                            f"{_days(days)} ago" + (f", {days - limit:,} over the {limit:,}-day limit." if limit else "."))
        elif problem:
            said.append(f"The {role} of {subject}: {label(problem).lower()}.")
        if problem != "unconfirmed" and facts["confirmed_on"]:
            said.append(f"Ownership was last confirmed on {date(facts['confirmed_on'])}.")
        if obj == "use_case" and facts["stage"] and problem != "missing":
            said.append(f"The use case is {at_stage(facts['stage'])}.")
    if obj == "decision" and facts["cost_of_error"] is not None:
        said.append(f"One wrong decision costs {money(facts['cost_of_error'])}.")
    for key in ("days_since_confirmation", "confirmation_limit_days", "confirmed_on", "stage"):
        facts.get(key)  # said above where it matters
    return Evidence(said, [t for t in [members_table(members)] if t])


def _missing_decision(facts: Facts, members: Members) -> Evidence:
    key = text(facts["use_case"])
    name = f"“{members.shown[0].title}” ({key})" if len(members.shown) == 1 else f"Use case {key}"
    said = [name + (f" of {facts['business_unit']}" if facts["business_unit"] else "")
            + (f" is {at_stage(facts['stage'])}" if facts["stage"] else "") + " and serves no stated decision."]
    owner = facts["owner"]
    if owner:
        said.append(f"Its business owner, {owner}, should name the decision it changes.")
    elif facts.has("owner"):
        said.append("It has no business owner to name the decision it changes.")
    return Evidence(said, [t for t in [members_table(members)] if t])


def _broken_feedback_loop(facts: Facts, members: Members) -> Evidence:
    problem, kpis, limit = facts["problem"], facts.get("kpis", []), facts["observation_limit_days"]
    since, live_days = facts["in_production_since"], facts["days_in_production"]
    said = []
    if since:
        said.append(f"In production since {date(since)}" + (f" ({_days(live_days)})." if live_days is not None else "."))
    if problem == "no_kpi":
        said.append("It has no KPI: nobody can tell whether it still improves the decision it serves.")
    else:
        named = f"Its KPIs: {listed(kpis)}." if len(kpis) != 1 else f"Its KPI: {kpis[0]}."
        if problem == "no_observation":
            never = "It has never been observed" if len(kpis) == 1 else "No observation of them was ever recorded"
            said.append(f"{named} {never}" + (f"; a KPI needs an observation every {_days(limit)}." if limit else "."))
        else:
            last, days = facts["last_observation"], facts["days_since_observation"]
            over = f", {days - limit:,} over the {limit:,}-day limit" if days is not None and limit else ""
            said.append(f"{named} The last observation was on {date(last)}"
                        + (f", {_days(days)} ago{over}." if days is not None else "."))
    for key in ("last_observation", "days_since_observation"):
        facts.get(key)
    return Evidence(said, [t for t in [members_table(members)] if t])


def _value_not_realised(facts: Facts, members: Members) -> Evidence:
    since, live_days = facts["in_production_since"], facts["days_in_production"]
    seen, seen_limit = facts["observations_in_production"], facts["observation_limit"]
    days_limit = facts["production_days_limit"]
    kpis = facts.get("kpis", [])
    said = [f"In production since {date(since)} ({_days(live_days)}), with {plural(seen, 'KPI observation')} since; "
            f"the policy gives a use case {plural(seen_limit, 'observation')} or {_days(days_limit)} in production "
            "to move its business metric."]
    if facts["worse"]:
        said.append("Its business metric has moved away from its target: the decision it serves is being made worse.")
    else:
        said.append("Its business metric has not moved toward its target.")
    expected, realised = facts["expected_annual_value"], facts["realised_annual_value"]
    if realised is not None:
        said.append(f"It realises {money(float(realised))} a year"
                    + (f" against an expected {money(float(expected))}." if expected is not None else "."))
    elif expected is not None:
        said.append(f"It was expected to bring {money(float(expected))} a year.")
    said.append("Decide: " + listed(facts.get("decision_asked", [])) + " — scale it where the metric moves, fix what "
                "keeps it from moving (integration, adoption, the target itself), or stop it.")
    rows = [[Cell(text(k.get("name"))), Cell(number(float(k["baseline"]))),
             Cell("—" if k.get("target") is None else number(float(k["target"]))),
             Cell(number(float(k["latest"]))), Cell(text(k.get("moved")))]
            for k in kpis if isinstance(k, dict) and {"baseline", "latest"} <= k.keys()]
    tables = [Table("KPIs against their baselines", ["KPI", "Baseline", "Target", "Latest", "Moved"], rows)] if rows else []
    return Evidence(said, tables + [t for t in [members_table(members)] if t])


def _lopsided_investment(facts: Facts, members: Members) -> Evidence:
    unit, share, limit = facts["business_unit"], facts["visible_share"], facts["spend_share_limit"]
    spent, readiness = facts.get("spent", {}), facts.get("readiness", {})
    lagging, gap, visible = facts.get("lagging", []), facts["readiness_gap_limit"], facts["visible_readiness"]
    said = [f"{unit} spent {money(float(facts['spent_total']))}, {share:.0%} of it on the model and infrastructure "
            f"layers (the policy flags {limit:.0%} or more).",
            f"Its {listed(lagging)} readiness lags: "
            + listed(f"{layer} {number(readiness.get(layer, 0))}" for layer in lagging)
            + f" against {number(visible)} for model and infrastructure, on a scale of 0 (none) to 3 (ready); "
            f"the policy flags a gap of {number(gap)} or more.",
            "Money on the visible layers does not reach production while the data and the workflow it runs in "
            "are not ready: move investment to the lagging layers."]
    total = sum(float(value) for value in spent.values()) or 1.0
    rows = [[Cell(layer.capitalize()), Cell(money(float(spent.get(layer, 0)))),
             Cell(f"{float(spent.get(layer, 0)) / total:.0%}"), Cell(number(readiness.get(layer, 0)))]
            for layer in spent]
    tables = [Table("Spending and readiness per layer", ["Layer", "Spent", "Share", "Mean readiness (0–3)"], rows)]
    return Evidence(said, tables + [t for t in [members_table(members)] if t])


_NO_FIELD = {
    sources.DECISION: ("states no decision", "state no decision"),
    sources.TECHNICAL_OWNER: ("names no technical owner", "name no technical owner"),
    sources.KPI: ("has no KPI", "have no KPI"),
}
_BLANK = {
    sources.BUSINESS_OWNER: ("leaves its contact person blank (a blank cell, a web form or a name)",
                             "leave their contact person blank (a blank cell, a web form or a name)"),
    sources.STAGE: ("reports no stage: it shows as \"Stage not reported\" until someone sets it",
                    "report no stage: they show as \"Stage not reported\" until someone sets it"),
    sources.STAGE_DATE: ("is in pilot or production with no date it began, so how long it has been there is unknown",
                         "are in pilot or production with no date they began, so how long they have been there is unknown"),
    sources.DESCRIPTION: ("has no description of the problem it solves, its benefits or outputs",
                          "have no description of the problem they solve, their benefits or outputs"),
}


def _inventory_completeness(facts: Facts, members: Members) -> Evidence:
    problem, fact, count = facts["problem"], facts["fact"], facts.get("count", members.count)
    unit = f" of {facts['business_unit']}" if facts["business_unit"] else ""
    source = f" from {_source(facts['source'])}" if facts["source"] else ""
    table = _NO_FIELD if problem == "no_field" else _BLANK
    what = table.get(fact)
    verb = (what[0] if count == 1 else what[1]) if what else f"lack {sources.FACT_LABEL.get(fact, label(fact).lower())}"
    said = [f"{plural(count, 'use case')}{unit}{source} {verb}."]
    if problem == "no_field":
        said.append("The format has no field for it: the owners can add it in Last Mile.")
    tables = []
    by_stage = facts.get("by_stage", {})
    if isinstance(by_stage, dict) and count > 1:
        tables.append(Table("By stage", ["Stage", "Use cases"],
                            [[Cell(stage(s)), Cell(number(n))] for s, n in by_stage.items()]))
    table_of_members = members_table(members)
    return Evidence(said, tables + ([table_of_members] if table_of_members else []))


def _practice(value) -> str:
    return Practice(value).label if value in Practice.values else text(value)


def _practice_status(value) -> str:
    return PracticeStatus(value).label.lower() if value in PracticeStatus.values else text(value)


def _high_impact_practices(facts: Facts, members: Members) -> Evidence:
    problem, key = facts["problem"], text(facts["use_case"])
    name = f"“{members.shown[0].title}” ({key})" if len(members.shown) == 1 else f"Use case {key}"
    of_unit = f" of {facts['business_unit']}" if facts["business_unit"] else ""
    said, tables = [], []
    if problem == "practices_missing":
        missing, waived = facts.get("missing", []), facts.get("waived", [])
        every = len(Practice.values)
        how_many = (f"none of the {every} minimum practices done or waived" if len(missing) == every
                    else f"{len(missing)} of the {every} minimum practices neither done nor waived")
        said.append(f"{name}{of_unit} is high-impact AI under OMB M-25-21 and {at_stage(facts['stage'])}, with "
                    f"{how_many}.")
        said.append("Each is required before a high-impact use case is piloted or deployed; only a Chief AI Officer's "
                    "written waiver leaves one out (“not applicable” does not).")
        tables.append(Table("Minimum practices neither done nor waived", ["Practice", "Status"],
                            [[Cell(_practice(m.get("practice"))), Cell(_practice_status(m.get("status")))]
                             for m in missing if isinstance(m, dict)]))
        if waived:
            said.append("Waived: " + listed(f"{_practice(w.get('practice'))} until {date(w.get('expires_on'))}"
                                            for w in waived if isinstance(w, dict)) + ".")
    elif problem == "waiver_expired":
        days = facts["days_expired"]
        said.append(f"The waiver of “{_practice(facts['practice'])}” for {name}{of_unit}, granted on "
                    f"{date(facts['granted_on'])}, expired on {date(facts['expires_on'])}"
                    + (f", {_days(days)} ago." if days is not None else "."))
        said.append(f"The practice is {_practice_status(facts['practice_status'])} and the use case is "
                    f"{at_stage(facts['stage'])}: a Chief AI Officer renews the waiver, or the practice is done.")
    elif problem in ("waiver_unreported", "waiver_reported_late"):
        days, limit = facts["days_to_report"], facts["report_limit_days"]
        over = f", {days - limit:,} over the {limit:,}-day limit" if days is not None and limit else ""
        waiver = (f"The waiver of “{_practice(facts['practice'])}” for {name}{of_unit}, granted on "
                  f"{date(facts['granted_on'])} until {date(facts['expires_on'])},")
        if problem == "waiver_reported_late":
            said.append(f"{waiver} was reported to OMB on {date(facts['reported_on'])}, {_days(days)} after its "
                        f"grant{over}.")
        else:
            said.append(f"{waiver} has not been reported to OMB: {_days(days)} since its grant{over}.")
        said.append("OMB M-25-21 asks for a waiver to be reported within 30 days of its grant.")
    elif problem:
        said.append(f"{name}: {label(problem).lower()}.")
    owner = facts["owner"]
    if owner:
        said.append(f"Its business owner is {owner}.")
    for key_read in ("waiver", "reported_on"):
        facts.get(key_read)  # the waiver is named by its practice and dates above
    return Evidence(said, tables + [t for t in [members_table(members)] if t])


PRESENTERS: dict[str, Callable[[Facts, Members], Evidence]] = {
    FindingKind.STALLED_PILOT: _stalled_pilot,
    FindingKind.DUPLICATE_CAPABILITY: _duplicate_capability,
    FindingKind.ORPHANED_OWNERSHIP: _orphaned_ownership,
    FindingKind.MISSING_DECISION: _missing_decision,
    FindingKind.BROKEN_FEEDBACK_LOOP: _broken_feedback_loop,
    FindingKind.INVENTORY_COMPLETENESS: _inventory_completeness,
    FindingKind.HIGH_IMPACT_PRACTICES: _high_impact_practices,
    FindingKind.VALUE_NOT_REALISED: _value_not_realised,
    FindingKind.LOPSIDED_INVESTMENT: _lopsided_investment,
}


def present(kind: str, detail, *, members: Iterable = (), member_count: int | None = None) -> Evidence:
    """The evidence of a finding of `kind` with `detail`. `members`: the use cases to list (all,
    or the page or first few shown; `Member`s or use cases with their unit), `member_count`: how
    many it has in all (default: those given); a table of them says how many it leaves out."""
    shown = [m if isinstance(m, Member) else Member.of(m) for m in members]
    group = Members(shown, len(shown) if member_count is None else member_count)
    facts = Facts(detail)
    # A detail that is not a dict is no shape any kind's words were written for.
    presenter = PRESENTERS.get(kind) if isinstance(detail, dict) else None
    evidence = presenter(facts, group) if presenter else Evidence(tables=[t for t in [members_table(group)] if t])
    rest = fallback(facts.unread())
    evidence.sentences += rest.sentences
    evidence.tables += rest.tables
    return evidence
