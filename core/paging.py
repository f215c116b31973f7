"""Pages of long lists: the page's ids and how many rows the list holds."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Count, QuerySet, Window


def page_of_ids(ordered: QuerySet, number: int, size: int, *, count: Callable[[], int],
                count_beside: bool) -> tuple[list[int], int, int]:
    """Page `number` (from 1; past either end, the last page) of the ids of `ordered`, how many
    rows it holds, and the page's number. With `count_beside` the total comes with the page
    (a window count): for a list whose order reads every row before the first anyway (a sort
    on a computed key, a search), where counting apart would find them all a second time.
    Otherwise, and when that page is empty, `count()` counts apart first."""
    if count_beside and number >= 1:
        counted = list(ordered.annotate(total=Window(Count("pk"))).values_list("pk", "total")
                       [(number - 1) * size:number * size])
        if counted:
            return [pk for pk, _ in counted], counted[0][1], number
    total = count()
    last = max(1, -(-total // size))
    number = number if 1 <= number <= last else last
    ids = list(ordered.values_list("pk", flat=True)[(number - 1) * size:number * size]) if total else []
    return ids, total, number


# Past any list's last page, and its offset well inside PostgreSQL's bigint.
MAX_PAGE_NUMBER = 10**9


def page_number(value) -> int:
    """A page number from a query parameter: 1 when it is not a number (a number past either
    end is the last page, `page_of_ids`)."""
    try:
        return min(int(value if value not in (None, "") else 1), MAX_PAGE_NUMBER)
    except (TypeError, ValueError):
        return 1
