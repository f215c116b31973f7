"""The inventory as rows: text search, the filters every list offers and the flat rows the
API list, the use case page list and its exports read (no model instances, so 100,000 rows
stream)."""

from __future__ import annotations

from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Upper

from core.expressions import PlannedFor

from ..models import BusinessUnit, HighImpact, Person, Stage, UseCase

# What a search reads: the use case's own text, its decision's statement, its unit's name and
# the names and emails of everyone who answers for it (as UseCaseSearchText holds them).
SEARCH_FIELDS = (
    "title", "external_id", "summary", "capability", "decision__statement", "business_unit__name",
    "business_owner__name", "business_owner__email", "technical_owner__name", "technical_owner__email",
    "decision__owner__name", "decision__owner__email",
)
MAX_SEARCH_TERMS = 10


def _contains(model, path: str, term: str) -> Q:
    """`path` contains `term`, in any case. A field of a related row (through a foreign key)
    becomes a subquery on that row's table, so the condition stays on one table and PostgreSQL
    answers it from that column's trigram index (registry migration 0017)."""
    relation, _, rest = path.partition("__")
    if not rest:
        return Q(**{f"{path}__icontains": PlannedFor(term)})
    related = model._meta.get_field(relation).related_model
    return Q(**{f"{relation}__in": related._base_manager.filter(_contains(related, rest, term)).values("pk")})


def _ids_containing(model, term: str, fields) -> QuerySet:
    """Ids of `model`'s rows with `term` in one of `fields`: one branch a field, joined by UNION.

    An OR of these conditions leaves PostgreSQL one plan, reading every row (its subqueries
    cannot feed a bitmap): 49 ms at 10,000 use cases for a word found nowhere. Each branch
    on its own is a trigram index lookup, so the union reads only the rows that match."""
    branches = [model._base_manager.filter(_contains(model, path, term)).order_by().values("pk") for path in fields]
    return branches[0].union(*branches[1:]) if len(branches) > 1 else branches[0]


def contains_all(queryset: QuerySet, terms, fields) -> QuerySet:
    """Rows of `queryset` where each of `terms` is in one of `fields` (paths from its model)."""
    for term in list(terms)[:MAX_SEARCH_TERMS]:
        queryset = queryset.filter(pk__in=_ids_containing(queryset.model, term, fields))
    return queryset


def matching(queryset: QuerySet[UseCase], terms) -> QuerySet[UseCase]:
    """Use cases each of whose `terms` is in their text, their decision, unit or owners: in the
    one text that holds all of SEARCH_FIELDS (UseCaseSearchText), so that PostgreSQL weighs each
    term against that column's statistics and plans the page for it. The text is kept in
    capitals (registry migration 0022), so each term is put in capitals by the database, as
    `icontains` would, and compared with the text as stored. Each term is in the statement's
    text (PlannedFor), so a statement prepared on the server is still planned for its terms."""
    for term in list(terms)[:MAX_SEARCH_TERMS]:
        queryset = queryset.filter(search_text__document__contains=Upper(PlannedFor(term)))
    return queryset


def owned_by(queryset: QuerySet[UseCase], person_id: int) -> QuerySet[UseCase]:
    """Use cases the person answers for in any role: business, technical or decision owner."""
    return queryset.filter(Q(business_owner_id=person_id) | Q(technical_owner_id=person_id)
                           | Q(decision__owner_id=person_id))


def high_impact(queryset: QuerySet[UseCase], is_high_impact: bool) -> QuerySet[UseCase]:
    """Determined high-impact under OMB M-25-21 (True), or not determined so (False)."""
    determined = Q(omb_determination__is_high_impact=HighImpact.HIGH_IMPACT)
    return queryset.filter(determined) if is_high_impact else queryset.exclude(determined)


def stage_rank():
    """A stage's place in the lifecycle (proposed first), to sort by."""
    return Case(*(When(stage=stage, then=Value(rank)) for rank, stage in enumerate(Stage.values)),
                output_field=IntegerField())


USE_CASE_ROW_FIELDS = [
    "id", "external_id", "title", "capability", "stage", "stage_entered_on", "decision", "business_unit",
    "business_owner", "technical_owner", "expected_annual_value", "version", "updated_at",
]


def use_case_rows() -> QuerySet:
    """The inventory as flat rows of the use case table (no joins, no model instances): filters,
    ordering and the page's LIMIT run on one table. The names the rows show (unit, owners'
    emails) are subqueries of the row, which PostgreSQL runs for the rows it returns only: a
    page is one query whatever its size, not one more round trip per related table."""
    return UseCase.objects.values(
        *USE_CASE_ROW_FIELDS,
        business_unit_name=_one(BusinessUnit, "business_unit", "name"),
        business_owner_email=_one(Person, "business_owner", "email"),
        technical_owner_email=_one(Person, "technical_owner", "email"),
    )


def _one(model, key: str, field: str) -> Subquery:
    return Subquery(model._base_manager.filter(pk=OuterRef(key)).order_by().values(field))
