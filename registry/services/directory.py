"""The directory: business units and people (what an HR system or identity provider feeds)."""

from __future__ import annotations

from django.db import transaction

from core.actors import acting_user
from core.errors import InvalidInput
from core.text import collapse_whitespace, normalise_email
from core.validation import validated
from core.versioning import versioned_write

from .. import access
from ..models import BusinessUnit, Person


def business_unit_named(*, name: str, actor) -> BusinessUnit:
    """The unit with this name (case-insensitive), created if new (by the program office)."""
    name = collapse_whitespace(name)
    if not name:
        raise InvalidInput("A business unit needs a name.", field="name")
    unit = BusinessUnit.objects.filter(name__iexact=name).first()
    if unit is None:
        access.require(access.can_change_directory(actor), "Only the program office adds business units.")
        unit = BusinessUnit(name=name)
        unit._history_user = acting_user(actor)
        validated(unit, validate_unique=False, validate_constraints=False)
        unit.save()
    return unit


def upsert_person(
    *, email: str, actor, name: str | None = None, business_unit: BusinessUnit | None = None,
    active: bool | None = None, expected_version: int | None = None,
) -> tuple[Person, bool]:
    """Create or update the directory person keyed by `email`; returns (person, changed).

    A value of None leaves that field as it is. With `expected_version`, refuses
    (StaleVersion) when the person changed since the caller read them.
    """
    access.require(access.can_change_directory(actor), "The directory is kept by the program office.")
    email = normalise_email(email)
    updates = {"name": name, "business_unit": business_unit, "active": active}
    with transaction.atomic():
        known = Person.objects.filter(email=email).values_list("pk", flat=True).first()
        if known is None:
            person = Person(email=email, **{field: value for field, value in updates.items() if value is not None})
            person._history_user = acting_user(actor)
            validated(person, validate_unique=False, validate_constraints=False)
            person.save()
            return person, True
        with versioned_write(Person.objects.all(), known, actor=actor, expected_version=expected_version) as write:
            person = write.current
            changed = [field for field, value in updates.items() if value is not None and getattr(person, field) != value]
            if not changed:
                return person, False
            for field in changed:
                setattr(person, field, updates[field])
            validated(person, validate_unique=False, validate_constraints=False)
            write.save(fields=changed)
    return person, True


def save_business_unit(*, unit: BusinessUnit, actor) -> BusinessUnit:
    """Add or rename a business unit (the program office)."""
    access.require(access.can_change_directory(actor), "Only the program office keeps business units.")
    unit.name = collapse_whitespace(unit.name or "")
    validated(unit, validate_constraints=False)
    if BusinessUnit.objects.filter(name__iexact=unit.name).exclude(pk=unit.pk).exists():
        raise InvalidInput(f"There is already a business unit named '{unit.name}'.", field="name")
    unit._history_user = acting_user(actor)
    unit.save()
    return unit


def save_person(*, person: Person, actor, expected_version: int | None = None) -> Person:
    """Add a person, or save edits made to one (the admin's form), as one new version."""
    access.require(access.can_change_directory(actor), "The directory is kept by the program office.")
    person.email = normalise_email(person.email or "")
    validated(person, validate_constraints=False, exclude=["version"])
    if Person.objects.filter(email=person.email).exclude(pk=person.pk).exists():
        raise InvalidInput(f"There is already a person with the email {person.email}.", field="email")
    if person.pk is None:
        person._history_user = acting_user(actor)
        person.save()
        return person
    with versioned_write(Person.objects.all(), person.pk, actor=actor, expected_version=expected_version) as write:
        write.save(person)
    return person
