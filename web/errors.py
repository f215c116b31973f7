"""Domain errors as the pages say them, in one place.

A refusal of the service goes back to the person on the form or card they used: a field's
problem next to that field, anything else at the top. NotAllowed and NotFound are the site's
403 and 404 pages (`DomainErrorMiddleware`), whichever view they escape from.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import DomainError, InvalidInput, NotAllowed, NotFound, StaleVersion

STALE_MESSAGE = "Someone changed this since you opened it, so nothing was saved. Reload the page and make your change again."


def message_for(error: DomainError) -> str:
    if isinstance(error, StaleVersion):
        return STALE_MESSAGE
    return error.message


def form_error_text(form) -> str:
    """Every error of a bound form, as one sentence for a message or a card."""
    return " ".join(text for texts in form.errors.values() for text in texts)


def add_to_form(form, error: DomainError) -> None:
    """Show `error` on `form`: each named field's messages beside it, the rest at the top."""
    if isinstance(error, InvalidInput):
        for field, texts in error.field_errors().items():
            target = field if field in form.fields else None
            for text in texts:
                form.add_error(target, text)
        return
    form.add_error(None, message_for(error))


class DomainErrorMiddleware:
    """NotAllowed → 403 and NotFound → 404, in the site's own layout, from any view; any other
    refusal a view did not show itself goes back to the page the request came from, as a message."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotAllowed):
            raise PermissionDenied(exception.message)
        if isinstance(exception, NotFound):
            raise Http404(exception.message)
        if isinstance(exception, DomainError):
            messages.error(request, message_for(exception))
            back = request.META.get("HTTP_REFERER", "")
            safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure())
            return redirect(back if safe and back else "/")
        return None
