"""How systems authenticate: DRF's token, with the caller's roles read in the same query."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from registry import access


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF reads it; the login's groups come with the token
    rather than in a query of their own on every call."""

    def authenticate_credentials(self, key):
        model = self.get_model()
        token = access.with_group_names(model.objects.select_related("user")).filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        access.remember_group_names(token.user, token.group_names)
        return (token.user, token)
