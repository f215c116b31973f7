"""Model validation as the domain's InvalidInput, naming each field."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from core.errors import InvalidInput


def validated(instance, **options):
    """`instance.full_clean(**options)`, refusing with InvalidInput that names each field."""
    try:
        instance.full_clean(**options)
    except ValidationError as error:
        raise invalid_input(error) from None
    return instance


def invalid_input(error: ValidationError) -> InvalidInput:
    if hasattr(error, "error_dict"):
        return InvalidInput.of({("__all__" if field == NON_FIELD_ERRORS else field): messages
                                for field, messages in error.message_dict.items()})
    return InvalidInput.of({"__all__": error.messages})
