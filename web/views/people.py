"""People, their logins, roles and API tokens, kept by the program office in the pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.errors import InvalidInput, NotFound
from registry import access
from registry.models import Person
from registry.selectors import accounts as account_selectors
from registry.services import accounts

from ..forms import LoginForm, PeopleSearchForm, PersonAddForm, RolesForm

PAGE_SIZE = 50
# Actions on a person's login: refused with a message while they have none.
NEEDS_LOGIN = ("roles", "token", "revoke")
ROLE_LABELS = RolesForm.ROLE_LABELS


def _require_keeper(request) -> None:
    access.require(access.reach(request.user).keep_directory, accounts.KEEPER_ONLY)


def _add_person(request, form) -> Person | None:
    """The person the form adds, with their login if a username was given; None when refused
    (the form then carries the errors, and nothing is written)."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return accounts.add_person(email=data["email"], name=data["name"], business_unit=data["business_unit"],
                                   username=data["username"], actor=request.user)
    except InvalidInput as refused:
        for field, errors in refused.field_errors().items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def people(request):
    _require_keeper(request)
    add_form = PersonAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        person = _add_person(request, add_form)
        if person is not None:
            messages.success(request, f"{person.email} added" + (" with a login." if add_form.cleaned_data["username"] else "."))
            return redirect("web:person", pk=person.pk)
    search = PeopleSearchForm(request.GET)
    found = account_selectors.people_matching(search.cleaned_data["q"] if search.is_valid() else "")
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    logins = account_selectors.logins_by_email(p.email for p in page)
    for person in page:
        person.login = logins.get(person.email)
        if person.login is not None:
            person.login.role_labels = [ROLE_LABELS[name] for name in person.login.role_names]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/people.html", {"page": page, "search": search, "add_form": add_form,
                                                "query": query.urlencode()},
                  status=400 if add_form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def person(request, pk: int):
    _require_keeper(request)
    person = Person.objects.select_related("business_unit").filter(pk=pk).first()
    if person is None:
        raise NotFound(f"No person with id {pk}.")
    user = accounts.login_for(person)
    login_form = LoginForm(request.POST if request.POST.get("action") == "login" else None)
    roles_form = RolesForm(request.POST if request.POST.get("action") == "roles" else None,
                           initial={"roles": list(user.groups.values_list("name", flat=True)) if user else []})
    new_token = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in NEEDS_LOGIN and user is None:
                messages.error(request, f"{person.email} has no login yet: create one first.")
            elif action == "login" and login_form.is_valid():
                accounts.create_login(person=person, username=login_form.cleaned_data["username"], actor=request.user)
                messages.success(request, f"Login {login_form.cleaned_data['username']} created.")
                return redirect("web:person", pk=pk)
            elif action == "roles" and roles_form.is_valid():
                granted, removed = accounts.set_roles(user=user, roles=roles_form.cleaned_data["roles"], actor=request.user)
                changes = [f"granted {ROLE_LABELS[r]}" for r in granted] + [f"removed {ROLE_LABELS[r]}" for r in removed]
                messages.success(request, "Roles saved: " + (", ".join(changes) or "no change") + ".")
                return redirect("web:person", pk=pk)
            elif action == "deactivate":
                accounts.deactivate(person=person, actor=request.user)
                messages.success(request, f"{person.email} deactivated.")
                return redirect("web:person", pk=pk)
            elif action == "token":
                new_token = accounts.create_token(user=user, actor=request.user)
            elif action == "revoke":
                revoked = accounts.revoke_token(user=user, actor=request.user)
                messages.success(request, "API token revoked." if revoked else "There was no API token to revoke.")
                return redirect("web:person", pk=pk)
            elif action not in ("login", "roles"):
                messages.error(request, "Unknown action: create a login, save roles, deactivate, create or revoke a token.")
        except InvalidInput as refused:
            messages.error(request, refused.message)
    if user is not None:
        user = account_selectors.logins_by_email([user.email.lower()])[user.email.lower()]
        user.role_labels = [ROLE_LABELS[name] for name in user.role_names]
    person.refresh_from_db()
    response = render(request, "web/person.html", {
        "person": person, "login": user, "login_form": login_form, "roles_form": roles_form, "new_token": new_token,
        "history": account_selectors.login_history(user) if user is not None else [], "people_url": reverse("web:people"),
    }, status=400 if (login_form.errors or roles_form.errors) else 200)
    if new_token:
        response["Cache-Control"] = "no-store"  # the key is shown once: no copy kept by the browser or a proxy
    return response
