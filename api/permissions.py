"""CONTRACT.md's roles for the API, through the same functions the admin uses (registry.access).

Anonymous → 401. Any role reads. Writes: each view names who may write at all
(`may_write(request)`) and who may change one object (`may_change(request, obj)`);
auditors never write.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from registry import access


class RolePermission(BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 with WWW-Authenticate
        if not access.has_role(user):
            self.message = "Your login has no Last Mile role (program office, business owner, auditor, Chief AI Officer or approver)."
            return False
        if request.method in SAFE_METHODS:
            return True
        if access.is_auditor(user):
            self.message = "Auditors see everything and change nothing."
            return False
        may_write = getattr(view, "may_write", None)
        return bool(may_write and may_write(request))

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        may_change = getattr(view, "may_change", None)
        if may_change is None:
            return True
        allowed = may_change(request, obj)
        if not allowed:
            self.message = "You may change only what you own."
        return allowed
