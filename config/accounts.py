"""Sign-in safeguards around django.contrib.auth.

Sign-ins are locked out by django-axes (settings: AXES_*); this module gives it the client's
address and the username tried.
"""

import ipaddress

from django.conf import settings

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
