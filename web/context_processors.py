from registry import access

from .views.home import OVERVIEW, landing


def navigation(request):
    """What the top bar offers the signed-in user (their role decides)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = ("auditor (read-only)" if access.is_auditor(user) else "program office" if access.is_program_office(user)
            else "Chief AI Officer" if access.is_chief_ai_officer(user) else "business owner" if access.is_business_owner(user)
            else "approver" if access.is_approver(user) else "")
    reach = access.reach(user)
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match else ""
    nav = {"home": "home", "portfolio": "portfolio", "findings": "findings", "import": "import", "import_job": "import",
           "waivers": "waivers", "compliance": "compliance",
           "value": "value", "use_cases": "use_cases", "people": "people", "person": "people",
           "audit_log": "audit", "audit_verify": "audit"}
    return {
        "nav_role": role, "nav": nav.get(name, ""),
        "nav_overview": landing(user) == OVERVIEW, "nav_read": reach.read, "nav_portfolio": reach.see_portfolio, "nav_import": reach.import_files, "nav_people": reach.keep_directory,
        "nav_audit": reach.see_audit_log,
    }
