"""People, their logins, roles and API tokens, kept by the program office in the pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db.models import Q
from django.db.models.functions import Lower
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.errors import InvalidInput, NotFound
from registry import access
from registry.models import Person
from registry.services import accounts

from ..forms import LoginForm, PeopleSearchForm, PersonAddForm, RolesForm

PAGE_SIZE = 50
# Actions on a person's login: refused with a message while they have none.
NEEDS_LOGIN = ("roles", "token", "revoke")
ROLE_LABELS = RolesForm.ROLE_LABELS


def _require_keeper(request) -> None:
    access.require(access.reach(request.user).keep_directory, accounts.KEEPER_ONLY)


def _logins_by_email(emails) -> dict:
    """The login of each email, with its roles and whether it holds a token: two queries."""
    users = (get_user_model().objects.annotate(lower_email=Lower("email")).filter(lower_email__in=list(emails))
             .select_related("auth_token").prefetch_related("groups").order_by("pk"))
    found = {}
    for user in users:
        found.setdefault(user.lower_email, user)
        user.role_labels = [ROLE_LABELS[g.name] for g in user.groups.all() if g.name in ROLE_LABELS]
        user.has_token = hasattr(user, "auth_token")
    return found


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
    found = Person.objects.select_related("business_unit").order_by("email")
    if search.is_valid() and search.cleaned_data["q"]:
        text = search.cleaned_data["q"].strip()
        found = found.filter(Q(name__icontains=text) | Q(email__icontains=text))
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    logins = _logins_by_email(p.email for p in page)
    for person in page:
        person.login = logins.get(person.email)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/people.html", {"page": page, "search": search, "add_form": add_form,
                                                "query": query.urlencode()},
                  status=400 if add_form.errors else 200)


def _history(user):
    if user is None:
        return []
    return (LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(user), object_id=str(user.pk))
            .select_related("user").order_by("-action_time")[:50])


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
        user.refresh_from_db()
        user.role_labels = [ROLE_LABELS[g] for g in user.groups.values_list("name", flat=True) if g in ROLE_LABELS]
        user.has_token = user.__class__.objects.filter(pk=user.pk, auth_token__isnull=False).exists()
    person.refresh_from_db()
    return render(request, "web/person.html", {
        "person": person, "login": user, "login_form": login_form, "roles_form": roles_form, "new_token": new_token,
        "history": _history(user), "people_url": reverse("web:people"),
    }, status=400 if (login_form.errors or roles_form.errors) else 200)
