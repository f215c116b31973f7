"""Sign-in and password-reset safeguards around django.contrib.auth.

Sign-ins are locked out by django-axes (settings: AXES_*); this module gives it the client's
address and throttles the password-reset form, which axes does not cover. Every reset request is
logged to "lastmile.security" with the client address and whether a mail went out.
"""

import hashlib
import ipaddress
import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.shortcuts import render

log = logging.getLogger("lastmile.security")
USERNAME_LIMIT = 255  # axes.models.AccessBase.username


def client_address(request) -> str | None:
    """The client's address: the connection's, or behind TRUSTED_PROXY_COUNT proxies the one the
    first of them saw (it appends it to X-Forwarded-For; what the client itself wrote there comes
    earlier and is not believed). Never anything but an IP address (axes stores it as one)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(forwarded) >= proxies and _is_ip(forwarded[-proxies]):
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def attempted_username(request, credentials) -> str | None:
    """The username a sign-in tried, as axes records and counts it: cut to what its column holds
    (no account has a longer one; the sign-in form does not refuse one)."""
    data = credentials or getattr(request, "data", request.POST)
    username = data.get("username")
    return None if username is None else str(username)[:USERNAME_LIMIT]


def _count(kind: str, value: str) -> int:
    """One more request of this kind for this value in the current window; how many so far. The
    window opens with the first request and lasts PASSWORD_RESET_WINDOW_MINUTES."""
    key = f"password-reset:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"
    cache.add(key, 0, timeout=settings.PASSWORD_RESET_WINDOW_MINUTES * 60)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.PASSWORD_RESET_WINDOW_MINUTES * 60)
        return 1


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, with at most PASSWORD_RESET_LIMIT_PER_CLIENT requests from one client
    address (then 429 and a page saying so) and PASSWORD_RESET_LIMIT_PER_ADDRESS mails to one
    email address (then the usual "check your email" page and no mail, so that it tells nobody
    anything) per window. Only valid forms count."""

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        client = client_address(self.request) or "unknown"
        if _count("client", client) > settings.PASSWORD_RESET_LIMIT_PER_CLIENT:
            log.warning("password reset for %s from %s refused: more than %d requests from this client in %d minutes",
                        email, client, settings.PASSWORD_RESET_LIMIT_PER_CLIENT, settings.PASSWORD_RESET_WINDOW_MINUTES)
            return render(self.request, "registration/password_reset_throttled.html",
                          {"window_minutes": settings.PASSWORD_RESET_WINDOW_MINUTES}, status=429)
        if _count("address", email) > settings.PASSWORD_RESET_LIMIT_PER_ADDRESS:
            log.warning("password reset for %s from %s not sent: more than %d requests for this address in %d minutes",
                        email, client, settings.PASSWORD_RESET_LIMIT_PER_ADDRESS, settings.PASSWORD_RESET_WINDOW_MINUTES)
            return HttpResponseRedirect(self.get_success_url())
        log.info("password reset for %s from %s: a link is mailed if an account has this address", email, client)
        return super().form_valid(form)
