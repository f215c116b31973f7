"""The directory: people by email, from a file (`import_people`, the HR feed of CONTRACT.md)
or from rows a caller already checked (`upsert_people`, the API's directory sync).

Both write set-based, in one transaction, with a history record per person created or
changed, and only when the actor may change the directory (the program office).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from core.actors import acting_user, names_its_actor
from core.bulk import bulk_update_with_history
from core.errors import InvalidInput
from core.text import collapse_whitespace, normalise_email

from .. import access
from ..models import Person
from .common import (
    BATCH_SIZE,
    ImportFailed,
    ImportReport,
    Progress,
    RowErrors,
    RowReader,
    check_columns,
    chunks,
    no_progress,
    people_by_email,
    read_rows,
    units_by_name,
    writing,
)

PEOPLE_COLUMNS = ["email", "name", "business_unit", "active"]
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}
# The fields of a person a directory row may change.
PERSON_FIELDS = ["name", "business_unit", "active"]
NOT_ALLOWED = "The directory is kept by the program office."


def upsert_people(rows: list[dict], *, actor, dry_run: bool = False, reason: str | None = None) -> dict[str, int]:
    """Create or update directory people by email, set-based and all or nothing.

    Each row holds `email` and, optionally, `name`, `business_unit` (a unit's name, created
    if new) and `active`. A key absent from a row leaves that field of a known person as it
    is, and so does a blank `business_unit`; a new person is active unless the row says
    otherwise. Each email once. Every person created or changed gets a history record naming
    the actor (and `reason`). With `dry_run`, counts what would change and writes nothing
    (a unit the directory does not know yet counts as no change of unit).

    Returns the counts `{"created": n, "updated": n, "unchanged": n}`. Refuses (NotAllowed)
    unless the actor may change the directory.
    """
    access.require(access.can_change_directory(actor), NOT_ALLOWED)
    emails = [normalise_email(row["email"]) for row in rows]
    repeated = sorted(email for email, times in Counter(emails).items() if times > 1)
    if repeated:
        raise InvalidInput(f"Each person once: {', '.join(repeated)} appear more than once.", field="email")
    user = acting_user(actor)
    with transaction.atomic():
        units = units_by_name({row.get("business_unit") or "" for row in rows}, user, create=not dry_run, reason=reason)
        if not dry_run:  # the rows this writes new versions of, locked as a versioned write would
            for chunk in chunks(sorted(set(emails))):
                list(Person.objects.select_for_update().filter(email__in=chunk).values_list("pk", flat=True))
        known = people_by_email(set(emails))
        to_create, to_update = [], []
        for email, row in zip(emails, rows):
            updates = {field: row[field] for field in ("name", "active") if field in row and row[field] is not None}
            if row.get("business_unit"):
                unit = units.get(collapse_whitespace(row["business_unit"]).lower())
                if unit is not None:  # in a dry run, a new unit is not there to compare with
                    updates["business_unit"] = unit
            person = known.get(email)
            if person is None:
                to_create.append(Person(email=email, **updates))
                continue
            changed = [field for field, value in updates.items() if getattr(person, field) != value]
            for field in changed:
                setattr(person, field, updates[field])
            if changed:
                person.version += 1
                to_update.append(person)
        if not dry_run:
            bulk_create_with_history(to_create, Person, batch_size=BATCH_SIZE, default_user=user,
                                     default_change_reason=reason)
            # The one UPDATE of known people who changed, with a history record each.
            bulk_update_with_history(to_update, [*PERSON_FIELDS, "version"], default_user=user, default_change_reason=reason)
    return {"created": len(to_create), "updated": len(to_update), "unchanged": len(rows) - len(to_create) - len(to_update)}


@names_its_actor
def import_people(path: str | Path, *, actor, dry_run: bool = False, progress: Progress = no_progress) -> ImportReport:
    """Upsert directory people by email. Blank cells leave a known person's value as it is."""
    access.require(access.can_change_directory(actor), NOT_ALLOWED)
    errors = RowErrors()
    table = read_rows(path, errors)
    report = ImportReport(rows=len(table.rows), dry_run=dry_run)
    report.ignored_columns = check_columns(table.columns, ["email"], PEOPLE_COLUMNS)
    rows: list[dict] = []
    first_row_of: dict[str, int] = {}
    for number, row in enumerate(progress(table.rows), start=1):
        reader = RowReader(row, number, errors)
        email = reader.text("email", max_length=254, required=True).lower()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                reader.fail("email", f"'{email[:80]}' is not an email address")
            if email in first_row_of:
                reader.fail("email", f"{email} already appears in row {first_row_of[email]}")
            first_row_of.setdefault(email, number)
        person = {"email": email}
        if name := reader.text("name", max_length=200):
            person["name"] = name
        if unit := reader.text("business_unit", max_length=200):
            person["business_unit"] = unit
        active_word = row.get("active", "").strip().lower()
        if active_word in TRUE_WORDS:
            person["active"] = True
        elif active_word in FALSE_WORDS:
            person["active"] = False
        elif active_word:
            reader.fail("active", f"'{active_word[:40]}' is not one of: true, false, 1, 0, yes, no")
        rows.append(person)
    if errors:
        raise ImportFailed(errors)

    rows_by_key = {}
    for number, person in enumerate(rows, start=1):
        rows_by_key.setdefault(person["email"], number)
        if person.get("business_unit"):
            rows_by_key.setdefault(collapse_whitespace(person["business_unit"]).lower(), number)
    with writing(rows_by_key, dry_run=dry_run):
        counts = upsert_people(rows, actor=actor, dry_run=dry_run, reason="import")
    report.created, report.updated, report.unchanged = counts["created"], counts["updated"], counts["unchanged"]
    return report
