"""The use case list of the pages and the API: the registry's search and filters, and what
the findings add (an open finding of a kind, how many are open). One query per page of flat
rows, one to count, whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import CharField, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce

from core.paging import page_of_ids
from registry import access
from registry.models import UseCase
from registry.selectors import use_cases as use_case_selectors

from ..models import ACTIVE_STATUSES, Finding

SORTS = {
    "title": ("title",),
    "stage": ("stage_rank",),
    "unit": ("unit_name",),
    "updated": ("updated_at",),
    "findings": ("open_findings",),
}
DEFAULT_SORT = "title"
# The sorts an index of the use case table holds in order (registry_usecase_title_id).
INDEXED_SORTS = {"title"}

# The columns `import_use_cases` reads (CONTRACT.md), so an export imports back unchanged, then
# three it ignores. A use case without an external id is keyed by its id, as export_use_cases does.
EXPORT_COLUMNS = [
    ("external_id", "key"), ("title", "title"), ("summary", "summary"), ("capability", "capability"),
    ("business_unit", "unit_name"), ("decision", "decision_statement"), ("decision_owner", "decision_owner_email"),
    ("decision_frequency", "decision_frequency"), ("cost_of_error", "cost_of_error"),
    ("business_owner", "business_owner_email"), ("technical_owner", "technical_owner_email"), ("stage", "stage"),
    ("stage_since", "stage_entered_on"), ("expected_annual_value", "expected_annual_value"),
    ("open_findings", "open_findings"), ("updated_at", "updated_at"),
]


@dataclass(frozen=True)
class UseCaseCriteria:
    """What a list asks for; every part optional."""

    terms: tuple[str, ...] = ()
    unit_id: int | None = None
    stages: tuple[str, ...] = ()
    owner_id: int | None = None
    high_impact: bool | None = None
    open_finding_kind: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = False


def with_open_finding_kind(queryset: QuerySet[UseCase], kind: str) -> QuerySet[UseCase]:
    """Use cases with an open or acknowledged finding of `kind`."""
    links = Finding.use_cases.through.objects.filter(
        usecase_id=OuterRef("pk"), finding__kind=kind, finding__status__in=ACTIVE_STATUSES)
    return queryset.filter(Exists(links))


def open_finding_count():
    """How many open or acknowledged findings name the use case (a subquery per row)."""
    counted = (Finding.use_cases.through.objects.filter(usecase_id=OuterRef("pk"), finding__status__in=ACTIVE_STATUSES)
               .values("usecase_id").annotate(n=Count("finding_id")).values("n"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def filtered(queryset: QuerySet[UseCase], criteria: UseCaseCriteria) -> QuerySet[UseCase]:
    if criteria.terms:
        queryset = use_case_selectors.matching(queryset, criteria.terms)
    if criteria.unit_id is not None:
        queryset = queryset.filter(business_unit_id=criteria.unit_id)
    if criteria.stages:
        queryset = queryset.filter(stage__in=criteria.stages)
    if criteria.owner_id is not None:
        queryset = use_case_selectors.owned_by(queryset, criteria.owner_id)
    if criteria.high_impact is not None:
        queryset = use_case_selectors.high_impact(queryset, criteria.high_impact)
    if criteria.open_finding_kind:
        queryset = with_open_finding_kind(queryset, criteria.open_finding_kind)
    return queryset


def visible_use_cases(actor) -> QuerySet[UseCase]:
    """The use cases `actor` may read: every one for anyone holding a role (CONTRACT.md: the
    registry is read by every role), none without."""
    return UseCase.objects.all() if access.reach(actor).read else UseCase.objects.none()


def _labelled(use_cases: QuerySet[UseCase]) -> QuerySet:
    """`use_cases` as the list's rows: dicts with the names, the decision and the open findings."""
    return use_cases.annotate(
        unit_name=F("business_unit__name"), business_owner_email=F("business_owner__email"),
        business_owner_name=F("business_owner__name"), technical_owner_email=F("technical_owner__email"),
        decision_statement=F("decision__statement"), decision_owner_email=F("decision__owner__email"),
        decision_frequency=F("decision__frequency"), cost_of_error=F("decision__cost_of_error"),
        key=Coalesce("external_id", Cast("id", CharField())), open_findings=open_finding_count(),
        stage_rank=use_case_selectors.stage_rank(),
    ).values(
        "id", "external_id", "title", "stage", "stage_entered_on", "capability", "expected_annual_value", "updated_at",
        "unit_name", "business_owner_email", "business_owner_name", "technical_owner_email", "decision_statement",
        "open_findings", "summary", "decision_owner_email", "decision_frequency", "cost_of_error", "key",
    )


def _ordering(criteria: UseCaseCriteria) -> list[str]:
    keys = SORTS.get(criteria.sort, SORTS[DEFAULT_SORT])
    return [*(f"-{key}" if criteria.descending else key for key in keys), "id"]


def use_case_list(actor, criteria: UseCaseCriteria) -> QuerySet:
    """The rows of the use case list and its exports, as dicts, sorted (ties by id)."""
    return _labelled(filtered(visible_use_cases(actor), criteria)).order_by(*_ordering(criteria))


def _sorted_ids(use_cases: QuerySet[UseCase], criteria: UseCaseCriteria) -> QuerySet[UseCase]:
    """`use_cases` in the list's order, sorted on the use case table with only what
    the sort reads. Sorted by open findings, they are counted in one grouped join: a count
    subquery a row ran 19,000 times for the use cases with an open stall at 100,000 (and cost
    enough for PostgreSQL to compile the query, half a second more)."""
    sort = criteria.sort if criteria.sort in SORTS else DEFAULT_SORT
    if sort == "unit":
        use_cases = use_cases.annotate(unit_name=F("business_unit__name"))
    elif sort == "stage":
        use_cases = use_cases.annotate(stage_rank=use_case_selectors.stage_rank())
    elif sort == "findings":
        use_cases = use_cases.annotate(open_findings=Count("findings", filter=Q(findings__status__in=ACTIVE_STATUSES)))
    return use_cases.order_by(*_ordering(criteria))


def paged_use_case_list(actor, criteria: UseCaseCriteria, number: int, size: int) -> tuple[list[dict], int, int]:
    """Page `number` (from 1; past either end, the last page) of `use_case_list`: its rows, how
    many rows the whole list holds, and the page's number. The page's ids come first, then
    only their rows are labelled. A finding kind, the sort by open findings, or a search in an
    order no index holds read every match before the first row anyway: there the total is
    counted beside the page (a window count), where counting apart would find the matches a
    second time; otherwise it is a count of the filter alone, and the page a walk of an index.

    A search sorted by title is counted apart: its page may walk the title index and stop at
    a full page (a common word), which a window count never lets it, and PostgreSQL 15 plans
    a window count under a LIMIT as if it too stopped early, so it walked the title index over
    all 100,000 use cases to count the 3,724 with "invoice supplier" (1.4 s at load 7; a count
    apart, from the trigram index, and a page: 0.13 s)."""
    matching = filtered(visible_use_cases(actor), criteria)
    sort = criteria.sort if criteria.sort in SORTS else DEFAULT_SORT
    searched_out_of_index_order = bool(criteria.terms) and sort not in INDEXED_SORTS
    ids, total, number = page_of_ids(
        _sorted_ids(matching, criteria), number, size, count=matching.count,
        count_beside=bool(searched_out_of_index_order or criteria.open_finding_kind or sort == "findings"))
    return use_case_list_rows(ids), total, number


def use_case_list_rows(ids) -> list[dict]:
    """`use_case_list`'s rows for these ids, in their order."""
    ids = list(ids)
    by_id = {row["id"]: row for row in _labelled(UseCase.objects.filter(pk__in=ids))}
    return [by_id[pk] for pk in ids if pk in by_id]
