"""People, logins, roles and API tokens in the pages: the program office's, in the history."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry.models import Person
from tests.factories import BusinessUnitFactory, PersonFactory, UserFactory
from tests.web_setup import no_role_user  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

PEOPLE = reverse("web:people")
User = get_user_model()


@pytest.fixture
def office(client, program_office_user):
    client.force_login(program_office_user)
    return client


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_office_adds_a_person_with_a_login_grants_a_role_and_it_is_in_the_history(office, program_office_user):
    unit = BusinessUnitFactory(name="Claims")
    response = office.post(PEOPLE, {"email": "New.Hire@Example.com", "name": "Nina Hire", "business_unit": unit.pk,
                                    "username": "nina"}, follow=True)
    person = Person.objects.get(email="new.hire@example.com")
    assert response.redirect_chain[-1][0] == reverse("web:person", args=[person.pk])
    login = User.objects.get(username="nina")
    assert login.email == "new.hire@example.com" and not login.has_usable_password()

    url = reverse("web:person", args=[person.pk])
    response = office.post(url, {"action": "roles", "roles": ["business_owner", "approver"]}, follow=True)
    assert "granted Approver (signs off their unit's gates), granted Business owner" in messages_of(response)
    assert set(login.groups.values_list("name", flat=True)) == {"business_owner", "approver"}
    office.post(url, {"action": "roles", "roles": ["approver"]})
    assert set(login.groups.values_list("name", flat=True)) == {"approver"}

    history = [e.get_change_message() for e in LogEntry.objects.filter(object_id=str(login.pk)).order_by("pk")]
    assert history == ["Login created for new.hire@example.com.", "Role granted: approver; Role granted: business_owner.",
                       "Role removed: business_owner."]
    assert all(e.user_id == program_office_user.pk for e in LogEntry.objects.filter(object_id=str(login.pk)))
    assert person.history.first().history_user_id == program_office_user.pk
    page = office.get(url).content.decode()
    assert "Role removed: business_owner." in page


def test_token_is_shown_once_works_and_is_revoked(office):
    person = PersonFactory(email="hr-sync@example.com")
    login = UserFactory(username="hr-sync", email=person.email, groups=["program_office"])
    url = reverse("web:person", args=[person.pk])
    response = office.post(url, {"action": "token"})
    key = Token.objects.get(user=login).key
    assert key in response.content.decode() and response["Cache-Control"] == "no-store"
    assert key not in office.get(url).content.decode()  # once

    api = APIClient()
    assert api.get("/api/people/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    office.post(url, {"action": "revoke"})
    assert not Token.objects.filter(user=login).exists()
    assert api.get("/api/people/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_deactivating_stops_the_login_and_revokes_its_token(office):
    person = PersonFactory(email="leaver@example.com")
    login = UserFactory(username="leaver", email=person.email, groups=["business_owner"])
    Token.objects.create(user=login)
    office.post(reverse("web:person", args=[person.pk]), {"action": "deactivate"})
    person.refresh_from_db()
    login.refresh_from_db()
    assert not person.active and not login.is_active and not Token.objects.filter(user=login).exists()


@pytest.mark.parametrize("data, field_error", [
    ({"email": "not-an-email", "name": "X"}, "Enter a valid email address."),
    ({"email": "a@example.com", "name": ""}, "This field is required."),
    ({"email": "taken@example.com", "name": "X"}, "taken@example.com is in the directory already."),
    ({"email": "b@example.com", "name": "X", "username": "bad name!"}, "Enter a valid username."),
    ({"email": "c@example.com", "name": "X", "username": "office"}, "The username office is taken."),
    ({"email": "d@example.com", "name": "X", "business_unit": "abc"}, "Select a valid choice."),
    ({"email": "e@example.com", "name": "X\x00"}, "Null characters are not allowed."),
])
def test_garbage_in_the_add_form_is_named_and_writes_nothing(office, data, field_error):
    PersonFactory(email="taken@example.com")
    before = (Person.objects.count(), User.objects.count())
    response = office.post(PEOPLE, data)
    assert response.status_code == 400
    assert field_error in response.content.decode()
    assert (Person.objects.count(), User.objects.count()) == before


def test_garbage_actions_are_refused_with_a_message(office):
    person = PersonFactory()
    url = reverse("web:person", args=[person.pk])
    assert "has no login yet" in messages_of(office.post(url, {"action": "token"}))
    assert "Unknown action" in messages_of(office.post(url, {"action": "drop tables"}))
    UserFactory(username="someone", email=person.email)
    response = office.post(url, {"action": "roles", "roles": ["superuser"]})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert office.get(reverse("web:person", args=[2**62])).status_code == 404


def test_only_the_program_office_keeps_people(client, business_owner_user, auditor_user, no_role_user):
    person = PersonFactory()
    for user in (business_owner_user, auditor_user, no_role_user):
        client.force_login(user)
        assert client.get(PEOPLE).status_code == 403
        assert client.post(PEOPLE, {"email": "x@example.com", "name": "X"}).status_code == 403
        assert client.post(reverse("web:person", args=[person.pk]), {"action": "deactivate"}).status_code == 403
    assert Person.objects.filter(email="x@example.com").count() == 0
    person.refresh_from_db()
    assert person.active
    superuser = UserFactory(username="root", is_superuser=True)
    client.force_login(superuser)
    assert client.get(PEOPLE).status_code == 200


def test_the_list_searches_and_runs_constant_queries(office, django_assert_max_num_queries):
    def grow(n):
        for _ in range(n):
            person = PersonFactory()
            UserFactory(email=person.email, groups=["business_owner"])
    grow(3)
    with django_assert_max_num_queries(20) as small:
        office.get(PEOPLE)
    grow(40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = office.get(PEOPLE)
    assert len(response.context["page"]) == 43
    PersonFactory(name="Zebulon Quist", email="zq@example.com")
    assert [p.email for p in office.get(PEOPLE, {"q": "quist"}).context["page"]] == ["zq@example.com"]
