"""Model validation as the domain's InvalidInput, naming each field."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, FieldError, ValidationError
from django.db import router
from django.db.models import BooleanField, CheckConstraint, ExpressionWrapper, Q, UniqueConstraint, Value
from django.db.models.functions import Coalesce
from django.db.models.sql import Query
from django.db.models.sql.constants import SINGLE

from core.errors import InvalidInput


def validated(instance, *, validate_unique: bool = True, validate_constraints: bool = True, exclude=None,
              stored=None):
    """`instance.full_clean(...)`, refusing with InvalidInput that names each field.

    Its check constraints are judged together in one query, not one query (and a savepoint)
    each as Django does: a use case has a dozen, and every edit validates them all. With
    `stored` (the row as it is in the database), a foreign key it already holds is not looked
    up again, nor is a unique or check constraint on fields it already holds judged again."""
    exclude = set(exclude or ())
    unchanged_keys = {field.name for field in instance._meta.concrete_fields if stored is not None and field.many_to_one
                      and getattr(instance, field.attname) == getattr(stored, field.attname)}
    errors: dict = {}
    steps = [lambda: instance.clean_fields(exclude=exclude | unchanged_keys), instance.clean]
    if validate_unique:
        steps.append(lambda: instance.validate_unique(exclude=exclude | _failed(errors)))
    if validate_constraints:
        steps.append(lambda: _validate_constraints(instance, exclude=exclude | _failed(errors), stored=stored))
    for step in steps:
        try:
            step()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise invalid_input(ValidationError(errors))
    return instance


def _failed(errors: dict) -> set[str]:
    """Fields already refused: their unique and constraint checks are not run (as full_clean does)."""
    return {name for name in errors if name != NON_FIELD_ERRORS}


def _validate_constraints(instance, *, exclude: set[str], stored=None) -> None:
    """Model.validate_constraints, with every CheckConstraint judged in the one query, and no
    UniqueConstraint judged that reads only fields `stored` already holds."""
    using = router.db_for_write(type(instance), instance=instance)
    errors: dict = {}
    checks = []
    for model_class, constraints in instance.get_constraints():
        for constraint in constraints:
            if _kept_by_stored_row(instance, stored, constraint):
                continue
            if isinstance(constraint, CheckConstraint):
                checks.append((model_class, constraint))
                continue
            try:
                constraint.validate(model_class, instance, exclude=exclude, using=using)
            except ValidationError as error:
                if getattr(error, "code", None) == "unique" and len(constraint.fields) == 1:
                    errors.setdefault(constraint.fields[0], []).append(error)
                else:
                    errors = error.update_error_dict(errors)
    for constraint in _broken_checks(instance, checks, exclude=exclude, using=using):
        errors = ValidationError(constraint.get_violation_error_message(),
                                 code=constraint.violation_error_code).update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _kept_by_stored_row(instance, stored, constraint) -> bool:
    """Whether `instance` holds the stored row's values in every field `constraint` reads (a
    unique constraint's fields and condition, a check's condition): the stored row already keeps
    it, and the row is locked, so saving cannot break it (the database would refuse a racing row
    anyway). An edit of one text field judges no check constraint, and runs no query for them."""
    if stored is None:
        return False
    if isinstance(constraint, CheckConstraint):
        names = constraint.condition.referenced_base_fields
    elif isinstance(constraint, UniqueConstraint) and constraint.fields:
        names = set(constraint.fields) | (constraint.condition.referenced_base_fields if constraint.condition else set())
    else:
        return False
    if not names:
        return False
    fields = [instance._meta.pk if name == "pk" else instance._meta.get_field(name) for name in names]
    return all(getattr(instance, field.attname) == getattr(stored, field.attname) for field in fields)


def _broken_checks(instance, checks: list, *, exclude: set[str], using: str) -> list[CheckConstraint]:
    """The check constraints `instance`'s values break, as Q.check judges each: a condition that
    comes out NULL passes, as in the database; one naming an excluded field is not judged."""
    if not checks:
        return []
    query = Query(None)
    for name, value in instance._get_field_expression_map(meta=instance._meta, exclude=exclude).items():
        query.add_annotation(value if hasattr(value, "resolve_expression") else Value(value), name, select=False)
    judged = []
    for position, (_, constraint) in enumerate(checks):
        condition = Coalesce(ExpressionWrapper(Q(constraint.condition), output_field=BooleanField()), Value(True))
        try:
            query.add_annotation(condition, f"check_{position}")
        except FieldError:
            continue
        judged.append(constraint)
    if not judged:
        return []
    row = query.get_compiler(using=using).execute_sql(SINGLE)
    return [constraint for constraint, holds in zip(judged, row) if not holds]


def invalid_input(error: ValidationError) -> InvalidInput:
    if hasattr(error, "error_dict"):
        return InvalidInput.of({("__all__" if field == NON_FIELD_ERRORS else field): messages
                                for field, messages in error.message_dict.items()})
    return InvalidInput.of({"__all__": error.messages})
