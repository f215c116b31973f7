"""A realistic demo portfolio, generated from a seed and a date.

Everything is drawn from `random.Random(seed)` and dated relative to `today`, never from the
clock, so the same seed and date give the same portfolio. The portfolio holds what the scans
look for: long pilots, near-duplicate use cases in different units, owners who left,
ownership nobody confirmed, production use cases whose KPIs nobody records, use cases
without a technical owner and shared mailboxes as owners.

Use cases are generated and written a chunk at a time, so memory stays bounded, and written
set-based (COPY on PostgreSQL, bulk_create elsewhere), so a hundred thousand use cases take
well under a minute. Every row gets a creation record in its history, dated when it
entered the registry, holding its values as seeded; people who left get a second record on
the day they left.
"""

from __future__ import annotations

import datetime
import itertools
import math
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from core.actors import DEMO, acting, acting_user
from core import bulk
from registry.access import AUDITOR, BUSINESS_OWNER, PROGRAM_OFFICE
from registry.models import (
    KPI,
    BusinessUnit,
    Decision,
    EUClassification,
    EURiskClass,
    EURole,
    HighImpact,
    Investment,
    KPIDirection,
    KPIObservation,
    OMBDetermination,
    Person,
    Practice,
    PracticeRecord,
    PracticeStatus,
    Readiness,
    SignOff,
    SignOffOutcome,
    Stage,
    StageTransition,
    TransitionSource,
    UseCase,
    Waiver,
)
from registry.selectors.determinations import WAIVER_REPORT_DAYS

from .catalogue import (
    BACKWARD_REASONS,
    DEMO_DOMAIN,
    DUPLICATE_FAMILIES,
    FIRST_NAMES,
    FORWARD_EVIDENCE,
    LAST_NAMES,
    MONITORING_PLANS,
    RETIREMENT_REASONS,
    SCOPES,
    SHARED_MAILBOXES,
    UNIT_BY_CODE,
    UNITS,
    DecisionTemplate,
    KPITemplate,
    UseCaseTemplate,
)
from .logins import DEMO_PASSWORD, DemoLogin, create_logins
from .profile import (
    BROKEN_FEEDBACK_SHARE,
    BALANCED_LAYER_SHARES,
    INVESTED_QUARTERS,
    LOPSIDED_LAYER_SHARES,
    LOPSIDED_UNIT_SHARE,
    VALUE_STALL_SHARE,
    DUPLICATE_FAMILY_RATE,
    FATE_WEIGHTS,
    FATES,
    FORWARD_PATH,
    FRICTION_SHARE_BY_STAGE,
    FRICTION_WEIGHTS_BY_STAGE,
    HISTORY_DAYS,
    MAILBOX_OWNER_SHARE,
    MIN_DAYS_IN_STAGE,
    NO_BUSINESS_OWNER_SHARE,
    NO_TECHNICAL_OWNER_SHARE,
    OBSERVATIONS_KEPT,
    PEOPLE_LEFT_SHARE,
    POLICY,
    READINESS_BY_STAGE,
    STALE_CONFIRMATION_SHARE,
)
from .regulation import (
    CLASSIFIED_SHARE,
    DETERMINED_SHARE,
    EVIDENCE_NOTES,
    EVIDENCE_URL,
    IN_PROGRESS_NOTES,
    OTHER_DECISIONS,
    PRACTICES_COMPLETE_SHARE,
    PRESUMED_NOT_JUSTIFICATIONS,
    PROFILES,
    PROVIDER_SHARE,
    REVOKED_REASON,
    WAIVED_PRACTICES,
    WAIVER_JUSTIFICATIONS,
)
from .reset import make_room_for_demo
from .rows import (
    ClassificationRow,
    DecisionRow,
    DeterminationRow,
    FrictionLinkRow,
    InvestmentRow,
    KPIRow,
    ObservationRow,
    PersonRow,
    PracticeRow,
    TransitionRow,
    UnitRow,
    UseCaseRow,
    WaiverRow,
)

HISTORY_REASON = "demo data"
CHUNK_SIZE = 5000
# The demo acts as the system actor core.actors.DEMO: the login its rows record is none.
ACTOR_ID = getattr(acting_user(DEMO), "pk", None)


@dataclass
class DemoSummary:
    counts: dict[str, int]
    use_cases_by_stage: dict[str, int]
    situations: dict[str, int]
    logins: list[DemoLogin]
    password: str = DEMO_PASSWORD


@dataclass
class _Directory:
    """Who can hold which role, by primary key; what a person last did bounds when they left."""

    members: dict[str, list[int]] = field(default_factory=dict)
    managers: dict[str, list[int]] = field(default_factory=dict)
    technical: dict[str, list[int]] = field(default_factory=dict)
    mailboxes: list[int] = field(default_factory=list)
    leavers: dict[int, PersonRow] = field(default_factory=dict)
    last_seen: dict[int, datetime.date] = field(default_factory=dict)
    login_people: dict[str, tuple[int, PersonRow]] = field(default_factory=dict)
    # The program office's and the auditor's logins own nothing: they sign off and audit the others'.
    keepers: set[int] = field(default_factory=set)

    def saw(self, person_id: int | None, day: datetime.date) -> None:
        if person_id is not None and day > self.last_seen.get(person_id, datetime.date.min):
            self.last_seen[person_id] = day


@dataclass
class _DecisionRef:
    pk: int
    template: DecisionTemplate
    created_day: datetime.date
    owner_id: int | None


@dataclass
class _Plan:
    """One use case and the rows that hang off it, completed once the use case has its key."""

    use_case: UseCaseRow
    friction_codes: list[str]
    transitions: list[TransitionRow]
    kpis: list[tuple[KPIRow, list[ObservationRow]]]
    investments: list[InvestmentRow] = field(default_factory=list)
    milestones: _Milestones | None = None


class _Milestones(NamedTuple):
    """What the regulatory records of a use case are dated and judged by, kept once it is written."""

    use_case_id: int | None
    external_id: str
    decision_key: str
    stage: str
    gate_stage: str  # the stage a retired use case left; for the others, their stage
    registered: datetime.date
    entered_pilot: datetime.date | None
    entered_production: datetime.date | None


class _Clock:
    """Days and times relative to `today`; the last day anything happens is yesterday."""

    def __init__(self, rng: random.Random, today: datetime.date):
        self.rng = rng
        self.today = today
        self.last_day = today - datetime.timedelta(days=1)
        self.first_day = today - datetime.timedelta(days=HISTORY_DAYS)
        self.zone = timezone.get_current_timezone()

    def days_ago(self, days: int) -> datetime.date:
        return self.last_day - datetime.timedelta(days=days)

    def at(self, day: datetime.date, *, hour: int | None = None) -> datetime.datetime:
        """A moment in office hours on `day`, in the current time zone."""
        moment = datetime.time(self.rng.randint(8, 18) if hour is None else hour, self.rng.randint(0, 59))
        return datetime.datetime.combine(day, moment, tzinfo=self.zone)

    def between(self, first: datetime.date, last: datetime.date) -> datetime.date:
        return first + datetime.timedelta(days=self.rng.randint(0, max(0, (last - first).days)))


def _quarter_start(day: datetime.date) -> datetime.date:
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    """An amount as people write it: round tens above a thousand, cents only below ten."""
    amount = rng.uniform(low, high)
    if amount >= 1000:
        return Decimal(round(amount, -1)).quantize(Decimal("0.01"))
    if amount >= 10:
        return Decimal(round(amount)).quantize(Decimal("0.01"))
    return Decimal(f"{amount:.2f}")


def _decimal(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:]


def _ascii(text: str) -> str:
    """E-mail local parts without accents: 'chloé.grünwald' → chloe.grunwald."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


class _PortfolioBuilder:
    def __init__(self, *, use_cases: int, seed: int, today: datetime.date, progress):
        self.total = use_cases
        self.rng = random.Random(seed)
        # The value story (KPI prices, stalled metrics) draws from its own generator, so that every
        # other row of a seed's portfolio stays what it was before prices existed.
        self.value_rng = random.Random(f"value-{seed}")
        self.lopsided_units: dict[str, bool] = {}
        self.clock = _Clock(self.rng, today)
        self.progress = progress or (lambda done: None)
        self.directory = _Directory()
        self.unit_ids: dict[str, int] = {}
        self.decisions: dict[tuple[str, str, int], _DecisionRef] = {}
        self.title_counts: Counter = Counter()
        self.external_id_counts: Counter = Counter()
        self.external_id_width = max(4, len(str(use_cases)))
        decision_templates = sum(len(unit.decisions) for unit in UNITS)
        self.scopes = [SCOPES[0], *self.rng.sample(SCOPES[1:], len(SCOPES) - 1)]
        self.scopes_in_use = max(1, min(len(SCOPES), math.ceil(use_cases / (decision_templates * 2.5))))
        self.families_planted = 0
        # Each written use case's dates and stage: its regulatory records are drawn from them once
        # the whole portfolio is written (_RegulatoryRecords).
        self.milestones: list[_Milestones] = []

    def _insert_with_history(self, model, rows: list[tuple], *, dated_by: str = "created_at") -> list[int]:
        ids = bulk.insert_rows(model, rows, returning_ids=True)
        bulk.insert_history_rows(model, ids, rows, [getattr(row, dated_by) for row in rows], reason=HISTORY_REASON)
        return ids

    # Units and people

    def create_units(self) -> None:
        created_at = self.clock.at(self.clock.first_day - datetime.timedelta(days=14), hour=9)
        ids = self._insert_with_history(BusinessUnit, [UnitRow(unit.name, created_at) for unit in UNITS])
        self.unit_ids = {unit.code: pk for unit, pk in zip(UNITS, ids)}

    def create_people(self, count: int) -> None:
        rng, clock = self.rng, self.clock
        joined = clock.at(clock.first_day - datetime.timedelta(days=7), hour=7)
        emails_taken: Counter = Counter()
        people: list[PersonRow] = []
        roles: list[tuple[str, bool, bool]] = []  # unit code, is manager, is technical
        total_weight = sum(unit.weight for unit in UNITS)
        for template in UNITS:
            size = max(6, round(count * template.weight / total_weight))
            for index in range(size):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                local = _ascii(f"{first}.{last}".lower().replace(" ", "").replace("'", ""))
                emails_taken[local] += 1
                if emails_taken[local] > 1:
                    local += str(emails_taken[local])
                is_manager = index < max(2, round(size * 0.15))
                is_technical = rng.random() < (0.6 if template.code == "ITO" else 0.15)
                people.append(PersonRow(f"{local}@{DEMO_DOMAIN}", f"{first} {last}", self.unit_ids[template.code],
                                        rng.random() >= PEOPLE_LEFT_SHARE, joined))
                roles.append((template.code, is_manager, is_technical))
        logins = {
            BUSINESS_OWNER: next(i for i, (code, manager, _) in enumerate(roles) if code == "CUS" and manager),
            PROGRAM_OFFICE: next(i for i, (code, manager, _) in enumerate(roles) if code == "ITO" and not manager),
            AUDITOR: next(i for i, (code, manager, _) in enumerate(roles) if code == "RSK" and not manager),
        }
        for index in logins.values():
            people[index] = people[index]._replace(active=True)
        for local, name, unit_code in SHARED_MAILBOXES:
            people.append(PersonRow(f"{local}@{DEMO_DOMAIN}", name, self.unit_ids.get(unit_code), True, joined))

        ids = bulk.insert_rows(Person, people, returning_ids=True)
        # Everyone was active when they joined; record_leaving() writes the day they left.
        bulk.insert_history_rows(Person, ids, [person._replace(active=True) for person in people],
                                 [person.created_at for person in people], reason=HISTORY_REASON)

        directory = self.directory
        for pk, person, (code, is_manager, is_technical) in zip(ids, people, roles):
            directory.members.setdefault(code, []).append(pk)
            if is_manager:
                directory.managers.setdefault(code, []).append(pk)
            if is_technical:
                directory.technical.setdefault(code, []).append(pk)
            if not person.active:
                directory.leavers[pk] = person
        directory.mailboxes = ids[len(roles):]
        directory.login_people = {role: (ids[index], people[index]) for role, index in logins.items()}
        directory.keepers = {ids[logins[PROGRAM_OFFICE]], ids[logins[AUDITOR]]}

    def record_leaving(self) -> None:
        """A second history record for each person who left, after the last thing they did."""
        clock, directory = self.clock, self.directory
        left_on = []
        for pk in directory.leavers:
            day_after = directory.last_seen.get(pk, clock.first_day) + datetime.timedelta(days=1)
            left_on.append(clock.at(clock.between(min(day_after, clock.last_day), clock.last_day)))
        bulk.insert_history_rows(Person, list(directory.leavers), list(directory.leavers.values()), left_on,
                                 change="~", reason="left the company (directory feed)")

    # Decisions

    def _pick_decision_owner(self, unit_code: str) -> int | None:
        rng, directory = self.rng, self.directory
        roll = rng.random()
        if roll < 0.02:
            return None
        if roll < 0.035:
            return rng.choice(directory.mailboxes)
        if unit_code == "CUS" and rng.random() < 0.4:
            return directory.login_people[BUSINESS_OWNER][0]
        return rng.choice(directory.managers[unit_code])

    def _confirmation_day(self, since: datetime.date, owner_id: int) -> datetime.date:
        """When an owner last confirmed; some long ago enough for the ownership scan.

        People who have left never confirmed again after they were made owner, so the day
        they left can come after everything they did.
        """
        clock = self.clock
        stale_before = clock.days_ago(POLICY.ownership_confirmation_days + 1)
        if owner_id in self.directory.leavers:
            return since
        if since <= stale_before and self.rng.random() < STALE_CONFIRMATION_SHARE:
            return clock.between(since, stale_before)
        return clock.between(max(since, clock.days_ago(POLICY.ownership_confirmation_days - 10)), clock.last_day)

    def _new_decision(self, unit_code: str, template: DecisionTemplate, scope: str) -> DecisionRow:
        rng, clock = self.rng, self.clock
        # A third of the decisions came with the first inventory, when the registry started.
        if rng.random() < 0.35:
            created_day = clock.first_day + datetime.timedelta(days=rng.randint(0, 30))
        else:
            created_day = clock.between(clock.first_day, clock.days_ago(20))
        created_at = clock.at(created_day)
        owner_id = self._pick_decision_owner(unit_code)
        return DecisionRow(
            statement=f"{scope}: {_lower_first(template.statement)}" if scope else template.statement,
            business_unit_id=self.unit_ids[unit_code],
            owner_id=owner_id,
            owner_confirmed_on=self._confirmation_day(created_day, owner_id) if owner_id else None,
            frequency=template.frequency,
            decisions_per_period=rng.randint(*template.decisions_per_period),
            cost_of_error=_money(rng, *template.cost_of_error),
            cost_of_delay_per_day=_money(rng, *template.cost_of_delay_per_day),
            execution_point=template.execution_point,
            current_method=template.current_method,
            created_at=created_at,
            updated_at=created_at if rng.random() < 0.5 else clock.at(clock.between(created_day, clock.last_day)),
        )

    def ensure_decisions(self, keys: list[tuple[str, str, int]]) -> None:
        new_decisions: dict[tuple[str, str, int], DecisionRow] = {}
        for key in keys:
            if key in self.decisions or key in new_decisions:
                continue
            unit_code, template_key, scope_index = key
            template = UNIT_BY_CODE[unit_code].decision(template_key)
            new_decisions[key] = self._new_decision(unit_code, template, self.scopes[scope_index])
        ids = self._insert_with_history(Decision, list(new_decisions.values()))
        for pk, (key, decision) in zip(ids, new_decisions.items()):
            unit_code, template_key, _ = key
            created_day = decision.created_at.date()
            self.directory.saw(decision.owner_id, created_day)
            template = UNIT_BY_CODE[unit_code].decision(template_key)
            self.decisions[key] = _DecisionRef(pk, template, created_day, decision.owner_id)

    # Use cases

    def specs(self) -> Iterator[tuple[str, str, int, UseCaseTemplate]]:
        """(unit code, decision template key, scope index, use case template), `total` of them.

        Every duplicate family comes once first, so even a small portfolio shows them.
        """
        rng = self.rng
        emitted = 0
        unit_weights = [unit.weight for unit in UNITS]
        pending = [[(member, 0) for member in family] for family in DUPLICATE_FAMILIES]
        while emitted < self.total:
            if not pending and rng.random() < DUPLICATE_FAMILY_RATE:
                scope_index = rng.randrange(self.scopes_in_use)
                pending = [[(member, scope_index) for member in rng.choice(DUPLICATE_FAMILIES)]]
            if pending:
                member, scope_index = pending[0].pop(0)
                if not pending[0]:
                    pending.pop(0)
                    self.families_planted += 1
                yield member.unit_code, member.decision_key, scope_index, member.use_case
            else:
                unit = rng.choices(UNITS, unit_weights)[0]
                decision = rng.choice(unit.decisions)
                yield unit.code, decision.key, rng.randrange(self.scopes_in_use), rng.choice(decision.use_cases)
            emitted += 1

    def _stage_path(self, fate: str) -> list[str]:
        rng = self.rng
        roll = rng.random()
        if fate == Stage.PROPOSED:
            if roll < 0.05:
                return [Stage.PROPOSED, Stage.VALIDATING, Stage.PROPOSED]
            if roll < 0.08:
                return [Stage.PROPOSED, Stage.RETIRED, Stage.PROPOSED]
            return [Stage.PROPOSED]
        if fate == Stage.RETIRED:
            retired_from = _weighted(
                rng, ((Stage.PROPOSED, 15), (Stage.VALIDATING, 30), (Stage.PILOT, 40), (Stage.PRODUCTION, 15))
            )
            return [*FORWARD_PATH[:FORWARD_PATH.index(retired_from) + 1], Stage.RETIRED]
        path = list(FORWARD_PATH[:FORWARD_PATH.index(fate) + 1])
        if roll < 0.1:
            path += [Stage.PILOT, Stage.VALIDATING] if fate == Stage.VALIDATING else [path[-2], fate]
        return path

    def _days_in_final_stage(self, path: list[str]) -> int:
        """Days since the last stage move; those that have stalled are past the policy's limit for
        their stage, the others a few days short of it."""
        rng, final = self.rng, path[-1]
        if final == Stage.VALIDATING:
            limit = POLICY.validating_max_days
            return rng.randint(3, limit - 5) if rng.random() < 0.6 else rng.randint(limit + 1, 400)
        if final == Stage.PILOT:
            # Nearly half the pilots have stalled: the pattern the essays warn about.
            limit = POLICY.pilot_max_days
            return rng.randint(5, limit - 5) if rng.random() < 0.55 else rng.randint(limit + 1, 540)
        if final == Stage.PRODUCTION:
            return rng.randint(20, 600)
        if final == Stage.RETIRED:
            return rng.randint(10, 600)
        return rng.randint(5, 200) if len(path) > 1 else rng.randint(0, HISTORY_DAYS)

    def _timeline(self, decision: _DecisionRef) -> tuple[list[str], list[datetime.date]]:
        """A stage path and the day of each move, within the decision's life and before today."""
        rng, clock = self.rng, self.clock
        earliest = max(decision.created_day, clock.first_day)
        room = (clock.last_day - earliest).days
        path = self._stage_path(rng.choices(FATES, FATE_WEIGHTS)[0])
        least_days_before = list(itertools.accumulate(MIN_DAYS_IN_STAGE[stage] for stage in path[:-1]))
        shortest = least_days_before[-1] if least_days_before else 0
        if room < shortest:
            path, least_days_before, shortest = [Stage.PROPOSED], [], 0
        age = min(self._days_in_final_stage(path), room - shortest)
        entered_final = clock.days_ago(age)
        registered = clock.between(earliest, entered_final - datetime.timedelta(days=shortest))
        # Spread the spare days over the stages, keeping each stage's minimum.
        spare = (entered_final - registered).days - shortest
        offsets = sorted(rng.randint(0, spare) for _ in least_days_before[:-1])
        days = [registered]
        days += [registered + datetime.timedelta(days=least + offset) for least, offset in zip(least_days_before, offsets)]
        if least_days_before:
            days.append(entered_final)
        return path, days

    def _transitions(self, path: list[str], days: list[datetime.date]) -> list[TransitionRow]:
        rng, transitions = self.rng, []
        for index, (to_stage, day) in enumerate(zip(path, days)):
            from_stage = path[index - 1] if index else ""
            if not from_stage:
                reason = ""
            elif to_stage == Stage.RETIRED:
                reason = rng.choice(RETIREMENT_REASONS)
            elif (from_stage, to_stage) in BACKWARD_REASONS:
                reason = rng.choice(BACKWARD_REASONS[(from_stage, to_stage)])
            else:
                reason = rng.choice(FORWARD_EVIDENCE[to_stage])
            transitions.append(TransitionRow(None, from_stage, to_stage, self.clock.at(day), ACTOR_ID, TransitionSource.DEMO,
                                             reason))
        return transitions

    def _owners(self, unit_code: str, decision: _DecisionRef, gate_stage: str) -> tuple[int | None, int | None]:
        rng, directory = self.rng, self.directory
        if rng.random() < NO_BUSINESS_OWNER_SHARE.get(gate_stage, 0):
            business = None
        elif decision.owner_id is not None and decision.owner_id not in directory.mailboxes and rng.random() < 0.35:
            business = decision.owner_id
        elif rng.random() < MAILBOX_OWNER_SHARE / 3:
            business = rng.choice(directory.mailboxes)
        else:
            business = rng.choice(directory.members[unit_code])
        if rng.random() < NO_TECHNICAL_OWNER_SHARE[gate_stage]:
            technical = None
        elif rng.random() < MAILBOX_OWNER_SHARE:
            technical = rng.choice(directory.mailboxes)
        else:
            pool = directory.technical.get(unit_code) if rng.random() < 0.7 else None
            technical = rng.choice(pool or directory.technical["ITO"])
        return self._not_a_keeper(business, directory.members[unit_code]), self._not_a_keeper(
            technical, directory.technical.get(unit_code) or directory.technical["ITO"])

    def _not_a_keeper(self, pick: int | None, pool: list[int]) -> int | None:
        """`pick`, or when it is a keeper's login the next in `pool` who is not: drawn without the
        random generator, so the rest of the portfolio is the same as ever for a seed."""
        if pick not in self.directory.keepers:
            return pick
        others = [pk for pk in pool if pk not in self.directory.keepers]
        return others[pool.index(pick) % len(others)] if pick in pool else others[0]

    def _stalled(self, path: list[str], days: list[datetime.date]) -> bool:
        """Stuck in validation or pilot past the policy's inactivity limit, and nobody touched it since then."""
        return path[-1] in (Stage.PILOT, Stage.VALIDATING) and days[-1] < self.clock.days_ago(POLICY.inactivity_days)

    def _kpis(self, template: DecisionTemplate, path: list[str], days: list[datetime.date],
              broken_feedback: bool) -> list[tuple[KPIRow, list[ObservationRow]]]:
        """KPIs from validation on, with observations from the pilot on."""
        rng, clock = self.rng, self.clock
        stage_reached = max(FORWARD_PATH.index(stage) for stage in path if stage in FORWARD_PATH)
        if stage_reached < FORWARD_PATH.index(Stage.VALIDATING):
            return []
        piloted = stage_reached >= FORWARD_PATH.index(Stage.PILOT)
        if not piloted and rng.random() < 0.55:
            return []
        count = 2 if piloted and len(template.kpis) > 1 and rng.random() < 0.35 else 1
        first_day_in = {stage: day for stage, day in reversed(list(zip(path, days)))}
        measured_from = first_day_in[Stage.PILOT if piloted else Stage.VALIDATING]
        last_observed = self._last_observation_day(path, days, broken_feedback) if piloted else None
        kpis = []
        for kpi_template in rng.sample(template.kpis, count):
            baseline = rng.uniform(*kpi_template.baseline)
            move = baseline * rng.uniform(*kpi_template.improvement)
            target = baseline + move if kpi_template.direction == KPIDirection.HIGHER_IS_BETTER else baseline - move
            has_target = piloted or rng.random() < 0.5
            kpi = KPIRow(
                use_case_id=None, name=kpi_template.name, unit=kpi_template.unit, direction=kpi_template.direction,
                baseline=_decimal(baseline, kpi_template.decimals),
                target=_decimal(target, kpi_template.decimals) if has_target else None,
                created_at=clock.at(min(measured_from + datetime.timedelta(days=rng.randint(0, 10)), clock.last_day)),
            )
            observations = []
            if last_observed is not None:
                observations = self._observations(kpi_template, baseline, target, path[-1],
                                                  measured_from + datetime.timedelta(days=14), last_observed)
            kpis.append((kpi, observations))
        return kpis

    def _priced(self, kpis: list[tuple[KPIRow, list[ObservationRow]]], expected_annual_value: Decimal | None, *,
                stalled: bool) -> list[tuple[KPIRow, list[ObservationRow]]]:
        """Each KPI with a target priced so that reaching the targets earns the expected annual value;
        a stalled use case's readings held at (or just under) the baseline."""
        priced = []
        for kpi, observations in kpis:
            gap = abs(kpi.target - kpi.baseline) if kpi.target is not None else Decimal(0)
            if expected_annual_value is not None and gap > 0:
                kpi = kpi._replace(value_per_unit=(expected_annual_value / len(kpis) / gap).quantize(Decimal("0.01")))
            if stalled and observations:
                worse = -1 if kpi.direction == KPIDirection.HIGHER_IS_BETTER else 1
                observations = [o._replace(value=max(Decimal(0), kpi.baseline + worse * gap * Decimal(
                    str(round(self.value_rng.uniform(0, 0.15), 3))))) for o in observations]
            priced.append((kpi, observations))
        return priced

    def _spends_lopsided(self, unit_code: str) -> bool:
        if unit_code not in self.lopsided_units:
            self.lopsided_units[unit_code] = self.value_rng.random() < LOPSIDED_UNIT_SHARE
        return self.lopsided_units[unit_code]

    def _investments(self, unit_code: str, path: list[str], days: list[datetime.date],
                     expected_annual_value: Decimal | None) -> list[InvestmentRow]:
        """Quarterly money per layer from validation on (the latest INVESTED_QUARTERS quarters up to
        the one it left the pipeline in), split as its unit splits it."""
        rng = self.value_rng
        started = next((day for stage, day in zip(path, days) if stage == Stage.VALIDATING), None)
        if started is None:
            return []
        ended = days[-1] if path[-1] == Stage.RETIRED else self.clock.last_day
        quarters = []
        quarter = _quarter_start(ended)
        while quarter >= _quarter_start(started) and len(quarters) < INVESTED_QUARTERS:
            quarters.append(quarter)
            quarter = _quarter_start(quarter - datetime.timedelta(days=1))
        shares = LOPSIDED_LAYER_SHARES if self._spends_lopsided(unit_code) else BALANCED_LAYER_SHARES
        yearly = float(expected_annual_value) * rng.uniform(0.15, 0.6) if expected_annual_value else rng.uniform(4e4, 2e5)
        rows = []
        for start in quarters:
            end = _quarter_start(start + datetime.timedelta(days=100)) - datetime.timedelta(days=1)
            elapsed = 1.0 if end <= self.clock.last_day else (self.clock.last_day - start).days / (end - start).days
            for layer, share in shares.items():
                planned = yearly / 4 * share * rng.uniform(0.7, 1.3)
                spent = planned * elapsed * rng.uniform(0.6, 1.15)
                rows.append(InvestmentRow(None, layer, start, end, Decimal(round(planned, -2)).quantize(Decimal("0.01")),
                                          Decimal(round(spent, -2)).quantize(Decimal("0.01")),
                                          self.clock.at(min(max(start, started), self.clock.last_day), hour=16),
                                          ACTOR_ID))
        return rows

    def _last_observation_day(self, path, days, broken_feedback: bool) -> datetime.date:
        rng, clock = self.rng, self.clock
        final, entered_final = path[-1], days[-1]
        if final == Stage.RETIRED:
            return entered_final - datetime.timedelta(days=rng.randint(0, 20))
        if final == Stage.PRODUCTION and broken_feedback:
            return clock.days_ago(rng.randint(POLICY.kpi_observation_days + 10, 400))
        if self._stalled(path, days):
            return min(entered_final + datetime.timedelta(days=rng.randint(14, 40)),
                       clock.days_ago(POLICY.inactivity_days + 1))
        return clock.days_ago(rng.randint(0, 30))

    def _observations(self, kpi_template: KPITemplate, baseline: float, target: float, final: str,
                      first: datetime.date, last: datetime.date) -> list[ObservationRow]:
        """Monthly readings, the latest few kept, drifting from the baseline towards the target."""
        rng, clock = self.rng, self.clock
        days = []
        day = last
        while day >= first and len(days) < OBSERVATIONS_KEPT:
            days.append(day)
            day -= datetime.timedelta(days=rng.randint(27, 33))
        days.reverse()
        reach = {Stage.PRODUCTION: (0.3, 1.15), Stage.PILOT: (-0.1, 0.6)}.get(final, (-0.3, 0.4))
        progress_at_end = rng.uniform(*reach)
        observations = []
        for index, observed_on in enumerate(days):
            progress = progress_at_end * (index + 1) / len(days) + rng.gauss(0, 0.12)
            value = max(0.0, baseline + (target - baseline) * progress)
            observations.append(ObservationRow(None, observed_on, _decimal(value, kpi_template.decimals),
                                               clock.at(observed_on, hour=17), ACTOR_ID, TransitionSource.DEMO))
        return observations

    def plan_use_case(self, unit_code: str, decision_key: str, scope_index: int, template: UseCaseTemplate) -> _Plan:
        rng, clock = self.rng, self.clock
        decision = self.decisions[(unit_code, decision_key, scope_index)]
        path, days = self._timeline(decision)
        transitions = self._transitions(path, days)
        final, entered_final = path[-1], days[-1]
        gate_stage = path[-2] if final == Stage.RETIRED else final
        registered_day = days[0]
        last_move_at = transitions[-1].occurred_at

        scope = self.scopes[scope_index]
        self.title_counts[(unit_code, scope_index, template.title)] += 1
        repeat = self.title_counts[(unit_code, scope_index, template.title)]
        title = template.title + (f" v{repeat}" if repeat > 1 else "") + (f" — {scope}" if scope else "")
        self.external_id_counts[unit_code] += 1
        external_id = f"{unit_code}-{self.external_id_counts[unit_code]:0{self.external_id_width}d}"

        business_owner, technical_owner = self._owners(unit_code, decision, gate_stage)
        # The production gate wanted both owners active when the use case went live.
        went_live = max((day for stage, day in zip(path, days) if stage == Stage.PRODUCTION), default=registered_day)
        for owner in (business_owner, technical_owner):
            self.directory.saw(owner, went_live)
        if self._stalled(path, days) or rng.random() < 0.3:
            updated_at, edits = last_move_at, 0
        else:
            updated_at = max(clock.at(clock.between(entered_final, clock.last_day)), last_move_at)
            edits = rng.randint(1, 4)
        readiness = [_weighted(rng, layer) for layer in READINESS_BY_STAGE[gate_stage]]
        if gate_stage != Stage.PROPOSED and self._spends_lopsided(unit_code) and self.value_rng.random() < 0.8:
            readiness[1] = readiness[2] = Readiness.READY  # the visible layers built first
        in_pilot_or_beyond = gate_stage in (Stage.PILOT, Stage.PRODUCTION)
        has_monitoring_plan = (gate_stage == Stage.PRODUCTION and rng.random() < 0.92
                               or gate_stage == Stage.PILOT and rng.random() < 0.4)

        use_case = UseCaseRow(
            decision_id=decision.pk,
            external_id=external_id,
            title=title,
            summary=template.summary + (f" Scope: {scope}." if scope else ""),
            capability=template.capability,
            business_unit_id=self.unit_ids[unit_code],
            business_owner_id=business_owner,
            business_owner_confirmed_on=self._confirmation_day(registered_day, business_owner) if business_owner else None,
            technical_owner_id=technical_owner,
            technical_owner_confirmed_on=self._confirmation_day(registered_day, technical_owner) if technical_owner else None,
            stage=final,
            stage_entered_on=entered_final,
            data_readiness=readiness[0],
            infrastructure_readiness=readiness[1],
            model_readiness=readiness[2],
            orchestration_readiness=readiness[3],
            inference_readiness=readiness[4],
            expected_annual_value=(
                Decimal(round(min(rng.lognormvariate(11.5, 1.0), 5e7), -3)).quantize(Decimal("0.01"))
                if in_pilot_or_beyond or rng.random() < 0.5 else None
            ),
            monitoring_plan=rng.choice(MONITORING_PLANS) if has_monitoring_plan else "",
            version=len(path) + edits,
            created_at=transitions[0].occurred_at,
            updated_at=updated_at,
        )
        friction_codes = []
        if rng.random() < FRICTION_SHARE_BY_STAGE[final]:
            weights = FRICTION_WEIGHTS_BY_STAGE[final]
            wanted = _weighted(rng, ((1, 5), (2, 3), (3, 1)))
            friction_codes = sorted({rng.choices(list(weights), list(weights.values()))[0] for _ in range(wanted)})
        broken_feedback = final == Stage.PRODUCTION and rng.random() < BROKEN_FEEDBACK_SHARE
        kpis = self._kpis(decision.template, path, days, broken_feedback)
        first_day_in = {stage: day for stage, day in reversed(list(zip(path, days)))}
        return _Plan(use_case, friction_codes, transitions,
                     self._priced(kpis, use_case.expected_annual_value, stalled=final == Stage.PRODUCTION
                                  and not broken_feedback and self.value_rng.random() < VALUE_STALL_SHARE),
                     self._investments(unit_code, path, days, use_case.expected_annual_value),
                     _Milestones(None, external_id, decision_key, final, gate_stage, registered_day,
                                 first_day_in.get(Stage.PILOT), first_day_in.get(Stage.PRODUCTION)))

    def write_use_cases(self, specs: list) -> None:
        self.ensure_decisions([(unit, key, scope) for unit, key, scope, _ in specs])
        plans = [self.plan_use_case(*spec) for spec in specs]
        rows = [plan.use_case for plan in plans]
        ids = bulk.insert_rows(UseCase, rows, returning_ids=True)
        history_ids = bulk.insert_history_rows(UseCase, ids, rows, [row.created_at for row in rows], reason=HISTORY_REASON,
                                               returning_ids=True)

        links, link_history_ids, transitions, kpis, kpi_observations, investments = [], [], [], [], [], []
        for plan, use_case_id, history_id in zip(plans, ids, history_ids):
            for code in plan.friction_codes:
                links.append(FrictionLinkRow(use_case_id, code))
                link_history_ids.append(history_id)
            transitions += [transition._replace(use_case_id=use_case_id) for transition in plan.transitions]
            for kpi, observations in plan.kpis:
                kpis.append(kpi._replace(use_case_id=use_case_id))
                kpi_observations.append(observations)
            investments += [row._replace(use_case_id=use_case_id) for row in plan.investments]
            self.milestones.append(plan.milestones._replace(use_case_id=use_case_id))
        link_ids = bulk.insert_rows(UseCase.friction_points.through, links, returning_ids=True)
        # The use case's creation record lists its friction points, as simple-history does on save.
        bulk.insert_rows(
            apps.get_model("registry", "HistoricalUseCase_friction_points"),
            [(pk, link.usecase_id, link.frictionpoint_id, history_id)
             for pk, link, history_id in zip(link_ids, links, link_history_ids)],
            columns=("id", "usecase_id", "frictionpoint_id", "history_id"),
        )
        bulk.insert_rows(StageTransition, transitions)
        kpi_ids = self._insert_with_history(KPI, kpis)
        observations = [
            observation._replace(kpi_id=kpi_id)
            for kpi_id, observations_of_kpi in zip(kpi_ids, kpi_observations)
            for observation in observations_of_kpi
        ]
        self._insert_with_history(KPIObservation, observations, dated_by="recorded_at")
        self._insert_with_history(Investment, investments, dated_by="recorded_at")

    def write_all_use_cases(self) -> None:
        chunk = []
        for spec in self.specs():
            chunk.append(spec)
            if len(chunk) == CHUNK_SIZE:
                self.write_use_cases(chunk)
                self.progress(len(chunk))
                chunk = []
        if chunk:
            self.write_use_cases(chunk)
            self.progress(len(chunk))

    # Logins

    def login_people(self) -> dict[str, tuple[str, str]]:
        """Each role's demo login: the (email, name) of the person picked for it in create_people."""
        return {role: (person.email, person.name) for role, (_, person) in self.directory.login_people.items()}

    def summary(self, logins: list[DemoLogin], regulatory: _RegulatoryRecords) -> DemoSummary:
        today = self.clock.today
        use_cases = UseCase.objects.all()
        production = use_cases.filter(stage=Stage.PRODUCTION)
        pilot_days, ownership_days, kpi_days = (
            POLICY.pilot_max_days, POLICY.ownership_confirmation_days, POLICY.kpi_observation_days
        )
        return DemoSummary(
            counts={
                "business units": BusinessUnit.objects.count(),
                "people": Person.objects.count(),
                "people who left": Person.objects.filter(active=False).count(),
                "decisions": Decision.objects.count(),
                "use cases": use_cases.count(),
                "stage transitions": StageTransition.objects.count(),
                "KPIs": KPI.objects.count(),
                "KPI observations": KPIObservation.objects.count(),
                "OMB determinations": OMBDetermination.objects.count(),
                "  of which high-impact": OMBDetermination.objects.filter(
                    is_high_impact=HighImpact.HIGH_IMPACT).count(),
                "minimum practice records": PracticeRecord.objects.count(),
                "waivers": Waiver.objects.count(),
                "EU AI Act classifications": EUClassification.objects.count(),
            },
            use_cases_by_stage=dict(use_cases.order_by("stage").values_list("stage").annotate(count=models.Count("pk"))),
            situations={
                f"pilots in their stage for more than {pilot_days} days": use_cases.filter(
                    stage=Stage.PILOT, stage_entered_on__lt=today - datetime.timedelta(days=pilot_days)).count(),
                "duplicate families planted": self.families_planted,
                "use cases owned by people who left": use_cases.filter(
                    Q(business_owner__active=False) | Q(technical_owner__active=False)).count(),
                "decisions owned by people who left": Decision.objects.filter(owner__active=False).count(),
                f"decisions with ownership unconfirmed for more than {ownership_days} days": Decision.objects.filter(
                    owner_confirmed_on__lt=today - datetime.timedelta(days=ownership_days)).count(),
                "production use cases without a technical owner": production.filter(technical_owner__isnull=True).count(),
                f"production use cases with no KPI observation in {kpi_days} days": production.exclude(
                    kpis__observations__observed_on__gte=today - datetime.timedelta(days=kpi_days)).count(),
                "high-impact use cases in pilot or production with a minimum practice neither done nor waived":
                    regulatory.held_by_the_gate(),
                f"waivers past their expiry or not reported to OMB within {WAIVER_REPORT_DAYS} days":
                    regulatory.lapsed_or_unreported_waivers(),
            },
            logins=logins,
        )


_LIVE = (Stage.PILOT, Stage.PRODUCTION)


class _RegulatoryRecords:
    """The OMB determinations, minimum practices, waivers and EU AI Act classifications of a
    written portfolio, made by the program office's login and drawn from their own generator.

    Determinations are likelier the further a use case got, high-impact likelier where its
    decision concerns people; a high-impact use case's practices are more complete the further
    it got. Five waivers show each situation of the waiver register: in force, expiring within
    weeks, past its expiry with the practice still missing, not reported to OMB in time, revoked.
    """

    def __init__(self, milestones: list[_Milestones], *, seed: int, today: datetime.date, office_id: int):
        self.rng = random.Random(f"regulation-{seed}")
        self.clock = _Clock(self.rng, today)
        self.milestones = milestones
        self.office_id = office_id
        self.determinations: dict[int, DeterminationRow] = {}
        self.practices: dict[int, dict[str, PracticeRow]] = {}
        self.classifications: list[ClassificationRow] = []
        self.waivers: list[WaiverRow] = []

    def plan(self) -> None:
        rng, last_day = self.rng, self.clock.last_day
        for milestones in self.milestones:
            profile = PROFILES.get(milestones.decision_key, OTHER_DECISIONS)
            if rng.random() < DETERMINED_SHARE[milestones.gate_stage]:
                self._determine(milestones, profile)
            if rng.random() < CLASSIFIED_SHARE[milestones.gate_stage]:
                self.classifications.append(ClassificationRow(
                    milestones.use_case_id, EURole.PROVIDER if rng.random() < PROVIDER_SHARE else EURole.DEPLOYER,
                    profile.risk_class, profile.annex_iii_area, profile.derogation_condition,
                    profile.profiles_natural_persons, profile.risk_class == EURiskClass.TRANSPARENCY,
                    profile.eu_rationale, self.clock.between(milestones.registered, last_day), self.office_id))
        self._waive()

    def _determine(self, milestones: _Milestones, profile) -> None:
        rng = self.rng
        # Determined while it was validated, before it met anyone in a pilot.
        determined_on = self.clock.between(milestones.registered, milestones.entered_pilot or self.clock.last_day)
        roll = rng.random()
        if roll < profile.high_impact_share:
            row = DeterminationRow(milestones.use_case_id, HighImpact.HIGH_IMPACT, "", profile.potential_impacts,
                                   determined_on, self.office_id)
            self.practices[milestones.use_case_id] = self._practices(milestones, determined_on)
        elif roll < profile.high_impact_share + profile.presumed_share:
            row = DeterminationRow(milestones.use_case_id, HighImpact.PRESUMED_NOT_HIGH_IMPACT,
                                   rng.choice(PRESUMED_NOT_JUSTIFICATIONS), "", determined_on, self.office_id)
        else:
            row = DeterminationRow(milestones.use_case_id, HighImpact.NOT_HIGH_IMPACT, "", "", determined_on,
                                   self.office_id)
        self.determinations[milestones.use_case_id] = row

    def _practices(self, milestones: _Milestones, determined_on: datetime.date) -> dict[str, PracticeRow]:
        """Every practice done in most production use cases, in about half the pilots; the rest
        have gaps (in progress, not started, or nothing recorded), the more the earlier the stage."""
        rng, clock, stage = self.rng, self.clock, milestones.gate_stage
        if rng.random() < PRACTICES_COMPLETE_SHARE.get(stage, 0):
            gaps = []
        elif stage == Stage.PRODUCTION:
            gaps = rng.sample(Practice.values, rng.choice((1, 1, 2, 3)))
        elif stage == Stage.PILOT:
            gaps = rng.sample(Practice.values, rng.randint(2, 5))
        else:
            gaps = rng.sample(Practice.values, rng.randint(5, 8))
        done_by = max(determined_on, milestones.entered_production or milestones.entered_pilot or clock.last_day)
        records = {}
        for practice in Practice.values:
            if practice not in gaps:
                link = EVIDENCE_URL.format(external_id=milestones.external_id.lower(),
                                           practice=practice.replace("_", "-")) if rng.random() < 0.5 else ""
                records[practice] = PracticeRow(milestones.use_case_id, practice, PracticeStatus.DONE, link,
                                                rng.choice(EVIDENCE_NOTES[practice]),
                                                clock.between(determined_on, done_by))
                continue
            roll = rng.random()
            if roll < 0.6:
                records[practice] = PracticeRow(milestones.use_case_id, practice, PracticeStatus.IN_PROGRESS, "",
                                                rng.choice(IN_PROGRESS_NOTES), clock.between(determined_on, clock.last_day))
            elif roll < 0.85:
                records[practice] = PracticeRow(milestones.use_case_id, practice, PracticeStatus.NOT_STARTED, "", "",
                                                clock.between(determined_on, clock.last_day))
        return records

    def _waive(self) -> None:
        """One waiver per situation of the register, for high-impact use cases in pilot or
        production, those registered longest ago first (so their waivers fall after that).

        A waiver covers a practice that is missing: in force, expiring or unreported, the only
        one a use case misses (which the waiver makes pass its gate); past its expiry, one of a
        use case's gaps (which it then misses again). A revoked waiver was for a practice since
        done. Where the portfolio has no such use case, a done practice is reopened for it."""
        rng, today = self.rng, self.clock.today
        live = sorted((m for m in self.milestones if m.stage in _LIVE and m.use_case_id in self.practices),
                      key=lambda m: m.registered)
        gaps = {m.use_case_id: sorted(self._not_done(m.use_case_id)) for m in live}
        complete = [m for m in live if not gaps[m.use_case_id]]
        one_gap = [m for m in live if len(gaps[m.use_case_id]) == 1]
        with_gaps = [m for m in live if gaps[m.use_case_id]]
        taken: set[int] = set()

        def take(*pools: list[_Milestones]) -> _Milestones | None:
            for pool in pools:
                options = [m for m in pool if m.use_case_id not in taken][:5]
                if options:
                    chosen = rng.choice(options)
                    taken.add(chosen.use_case_id)
                    return chosen
            return None

        def days(low: int, high: int) -> datetime.timedelta:
            return datetime.timedelta(days=rng.randint(low, high))

        situations = (
            ("in force", (one_gap, complete, live), lambda: (today - days(60, 200), today + days(120, 300), days(3, 20))),
            ("expiring within weeks", (one_gap, complete, live),
             lambda: (today - days(150, 300), today + days(7, 28), days(5, 25))),
            ("past its expiry", (with_gaps, complete, live),
             lambda: (today - days(200, 330), today - days(10, 60), days(5, 25))),
            ("not reported", (one_gap, complete, live), lambda: (today - days(40, 90), today + days(90, 240), None)),
            ("revoked", (complete, live), lambda: (today - days(200, 300), today + days(60, 160), days(5, 25))),
        )
        for situation, pools, dates in situations:
            milestones = take(*pools)
            if milestones is None:
                return
            missing = gaps[milestones.use_case_id]
            if missing and situation != "revoked":
                practice = rng.choice(missing)
            else:  # the register reads better with a practice no other demo waiver names
                practice = next(p for p in WAIVED_PRACTICES if p not in {w.practice for w in self.waivers})
            granted_on, expires_on, reported_after = dates()
            granted_on = min(max(granted_on, milestones.registered + datetime.timedelta(days=1)),
                             expires_on - datetime.timedelta(days=30))
            determination = self.determinations[milestones.use_case_id]
            self.determinations[milestones.use_case_id] = determination._replace(
                determined_on=min(determination.determined_on, granted_on))
            revoked_on = (max(granted_on, min(granted_on + days(40, 120), self.clock.last_day))
                          if situation == "revoked" else None)
            reported_on = granted_on + reported_after if reported_after is not None else None
            self.waivers.append(WaiverRow(
                milestones.use_case_id, practice, WAIVER_JUSTIFICATIONS[practice], granted_on, expires_on, reported_on,
                self.office_id, revoked_on, REVOKED_REASON if revoked_on else ""))
            records = self.practices[milestones.use_case_id]
            if revoked_on:
                records[practice] = PracticeRow(milestones.use_case_id, practice, PracticeStatus.DONE, "",
                                                EVIDENCE_NOTES[practice][0], revoked_on)
            elif practice not in missing or practice not in records:
                # A waived practice has a record of where it stands, even one not started before.
                records[practice] = PracticeRow(milestones.use_case_id, practice, PracticeStatus.IN_PROGRESS, "",
                                                "Waived for now; see the waiver.", granted_on)

    def _not_done(self, use_case_id: int) -> set[str]:
        records = self.practices[use_case_id]
        return {p for p in Practice.values if p not in records or records[p].status != PracticeStatus.DONE}

    def held_by_the_gate(self) -> int:
        """High-impact use cases in pilot or production with a practice neither done nor waived today."""
        today = self.clock.today
        waived = {(w.use_case_id, w.practice) for w in self.waivers
                  if w.revoked_on is None and w.granted_on <= today <= w.expires_on}
        return sum(1 for m in self.milestones if m.stage in _LIVE and m.use_case_id in self.practices
                   and any((m.use_case_id, p) not in waived for p in self._not_done(m.use_case_id)))

    def lapsed_or_unreported_waivers(self) -> int:
        today, limit = self.clock.today, datetime.timedelta(days=WAIVER_REPORT_DAYS)
        return sum(1 for w in self.waivers if w.revoked_on is None and (
            w.expires_on < today or (w.reported_on or today) > w.granted_on + limit))

    def write(self) -> None:
        at = self.clock.at
        determinations = list(self.determinations.values())
        ids = bulk.insert_rows(OMBDetermination, determinations, returning_ids=True)
        bulk.insert_history_rows(OMBDetermination, ids, determinations, [at(r.determined_on) for r in determinations],
                                 reason=HISTORY_REASON)
        practices = [row for records in self.practices.values() for row in records.values()]
        ids = bulk.insert_rows(PracticeRecord, practices, returning_ids=True)
        bulk.insert_history_rows(PracticeRecord, ids, practices, [at(r.updated_on) for r in practices],
                                 reason=HISTORY_REASON)
        ids = bulk.insert_rows(EUClassification, self.classifications, returning_ids=True)
        bulk.insert_history_rows(EUClassification, ids, self.classifications,
                                 [at(r.classified_on) for r in self.classifications], reason=HISTORY_REASON)
        self._write_waivers()

    def _write_waivers(self) -> None:
        """Each waiver as granted, then a change record the day it was reported and the day it was revoked."""
        at, waivers = self.clock.at, self.waivers
        ids = bulk.insert_rows(Waiver, waivers, returning_ids=True)
        bulk.insert_history_rows(Waiver, ids, [w._replace(reported_on=None, revoked_on=None, revoked_reason="")
                                               for w in waivers],
                                 [at(w.granted_on) for w in waivers], reason=HISTORY_REASON)
        reported = [(pk, w) for pk, w in zip(ids, waivers) if w.reported_on is not None]
        for pk, waiver in reported:
            bulk.insert_history_rows(Waiver, [pk], [waiver._replace(revoked_on=None, revoked_reason="")],
                                     [at(waiver.reported_on)], change="~", reason=f"reported on {waiver.reported_on}")
        for pk, waiver in zip(ids, waivers):
            if waiver.revoked_on is not None:
                bulk.insert_history_rows(Waiver, [pk], [waiver], [at(waiver.revoked_on)], change="~",
                                         reason=waiver.revoked_reason)


def seed_demo_portfolio(
    *,
    use_cases: int,
    seed: int,
    today: datetime.date,
    progress: Callable[[int], None] | None = None,
    reset: bool = False,
) -> DemoSummary:
    """Fill the registry with a demo portfolio of `use_cases` use cases; all or nothing.

    Refuses (RegistryNotEmpty) when the registry already holds data, unless `reset`, which
    first deletes it. `progress` is called with the number of use cases each time a chunk
    is written.
    """
    if use_cases < 1:
        raise ValueError("A demo portfolio needs at least one use case.")
    with transaction.atomic(), acting(DEMO):
        make_room_for_demo(reset=reset)
        builder = _PortfolioBuilder(use_cases=use_cases, seed=seed, today=today, progress=progress)
        builder.create_units()
        builder.create_people(max(100, use_cases // 3))
        builder.write_all_use_cases()
        builder.record_leaving()
        logins = create_logins(builder.login_people())
        office = get_user_model().objects.get(username=next(login.username for login in logins
                                                              if login.role == PROGRAM_OFFICE))
        record_sign_offs(office.username)
        regulatory = _RegulatoryRecords(builder.milestones, seed=seed, today=today, office_id=office.pk)
        regulatory.plan()
        regulatory.write()
        return builder.summary(logins, regulatory)


SIGN_OFF_NOTES = {
    Stage.PILOT: ["Data checked with the owner; pilot scope agreed.", "Pilot plan and exit criteria reviewed.",
                  "Execution point confirmed with operations."],
    Stage.PRODUCTION: ["KPI baseline and target agreed; monitoring plan reviewed.",
                       "Pilot results reviewed against the KPI target.", "Run book and fallback reviewed."],
}
# The demo's history was not gated as it happened: its sign-offs carry no fingerprint of the
# gate conditions then, so none can ever count for a move still to come.
DEMO_FINGERPRINT = "demo: gate conditions not recorded"


def record_sign_offs(username: str) -> None:
    """Every move into pilot or production in the demo's history was signed off, an hour
    before, by the program office login (who owns no use case)."""
    signer = get_user_model().objects.get(username=username)
    forward = Q(from_stage=Stage.VALIDATING, to_stage=Stage.PILOT) | Q(from_stage=Stage.PILOT, to_stage=Stage.PRODUCTION)
    moves = StageTransition.objects.filter(forward).order_by("pk").values_list("pk", "use_case_id", "to_stage", "occurred_at")
    SignOff.objects.bulk_create(
        (SignOff(use_case_id=use_case_id, stage=stage, outcome=SignOffOutcome.APPROVED, signed_by=signer,
                 note=SIGN_OFF_NOTES[stage][pk % len(SIGN_OFF_NOTES[stage])],
                 signed_at=occurred_at - datetime.timedelta(hours=1), gate_fingerprint=DEMO_FINGERPRINT)
         for pk, use_case_id, stage, occurred_at in moves.iterator(chunk_size=CHUNK_SIZE)),
        batch_size=CHUNK_SIZE,
    )
