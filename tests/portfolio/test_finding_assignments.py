"""Assignments reach people: the assignee sees what is assigned to them (home page, "assigned to
me", the finding's page) and may answer it, and is told by email. Who may close a finding about
what they own is the policy's to say: by default, the program office."""

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from core.errors import InvalidInput, NotAllowed
from portfolio.models import Finding, Policy
from portfolio.services.findings import act_on_findings, assign_finding, change_finding_status
from tests.factories import FindingFactory, PersonFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def nora():
    """A business owner login whose person owns nothing."""
    return PersonFactory(email="nora@example.com"), UserFactory(username="nora", email="nora@example.com",
                                                                groups=["business_owner"])


@pytest.fixture
def olga():
    """A business owner login and the use case she owns."""
    person = PersonFactory(email="olga@example.com")
    return UseCaseFactory(business_owner=person), UserFactory(username="olga", email="olga@example.com",
                                                              groups=["business_owner"])


def test_a_finding_assigned_to_someone_who_owns_nothing_reaches_them(client, nora, program_office_user,
                                                                     django_capture_on_commit_callbacks):
    person, login = nora
    finding = FindingFactory(severity="critical", title="Payroll bot in production with no owner",
                             use_cases=[UseCaseFactory()])
    with django_capture_on_commit_callbacks(execute=True):
        assign_finding(finding=finding, assignee=person, actor=program_office_user)

    client.force_login(login)
    home = client.get(reverse("web:home")).content.decode()
    mine = client.get(reverse("web:findings"), {"mine": "on", "status": "active"}).content.decode()
    assert "Findings assigned to you" in home and reverse("web:finding", args=[finding.pk]) in home
    assert f'id="finding-{finding.pk}"' in mine
    assert client.get(reverse("web:finding", args=[finding.pk])).status_code == 200

    (email,) = mail.outbox
    assert email.to == ["nora@example.com"] and email.subject == "Assigned to you: Payroll bot in production with no owner"
    assert f"http://localhost:8000/findings/{finding.pk}/" in email.body and "[Critical]" in email.body


def test_the_assignee_answers_and_resolves_with_a_note_from_the_page(client, nora, program_office_user):
    person, login = nora
    finding = FindingFactory(use_cases=[UseCaseFactory()], assignee=person)
    client.force_login(login)
    page = client.get(reverse("web:finding", args=[finding.pk])).content.decode()
    assert 'value="acknowledge"' in page and 'value="resolve"' in page

    client.post(reverse("web:finding_status", args=[finding.pk]), {"action": "acknowledge"})
    client.post(reverse("web:finding_status", args=[finding.pk]), {"action": "resolve", "reason": "Owner named in HR"})

    finding.refresh_from_db()
    assert (finding.status, finding.status_reason) == ("resolved", "Owner named in HR")
    assert list(finding.events.values_list("actor__username", "to_status")) == [("nora", "resolved"), ("nora", "acknowledged")]


def test_someone_else_assigned_nothing_still_cannot_answer_it(nora):
    _, login = nora
    finding = FindingFactory(use_cases=[UseCaseFactory()], assignee=PersonFactory())
    with pytest.raises(NotAllowed):
        change_finding_status(finding=finding, to_status="acknowledged", actor=login)


def test_bulk_assignment_sends_one_email_listing_them_and_reassigning_sends_none(nora, program_office_user,
                                                                                django_capture_on_commit_callbacks):
    person, _ = nora
    findings = FindingFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        act_on_findings(actor=program_office_user, action="assign", ids=[f.pk for f in findings], assignee=person.email)
    with django_capture_on_commit_callbacks(execute=True):
        act_on_findings(actor=program_office_user, action="assign", ids=[f.pk for f in findings], assignee=person.email)
        assign_finding(finding=findings[0], assignee=person, actor=program_office_user)
    (email,) = mail.outbox
    assert email.subject == "3 findings assigned to you"
    assert all(f.title in email.body and f"/findings/{f.pk}/" in email.body for f in findings)


def test_a_mail_server_that_is_down_costs_the_email_not_the_assignment(client, nora, program_office_user, monkeypatch,
                                                                        django_capture_on_commit_callbacks):
    person, _ = nora
    finding = FindingFactory()

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("portfolio.services.findings.send_mail", refused)
    client.force_login(program_office_user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("web:finding_assign", args=[finding.pk]), {"assignee": person.email})
    assert answer.status_code == 302
    assert Finding.objects.get(pk=finding.pk).assignee == person


def test_a_refused_bulk_assignment_sends_nothing(program_office_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidInput):
        act_on_findings(actor=program_office_user, action="assign", ids=[FindingFactory().pk, 10**9],
                        assignee=PersonFactory().email)
    assert mail.outbox == []


# The policy: who closes a finding about what they own ------------------------------------------


def test_by_default_an_owner_acknowledges_but_closing_needs_the_office_on_every_surface(client, olga):
    use_case, login = olga
    finding = FindingFactory(use_cases=[use_case])
    client.force_login(login)
    page = client.get(reverse("web:finding", args=[finding.pk])).content.decode()
    assert 'value="acknowledge"' in page and 'value="resolve"' not in page and 'value="dismiss"' not in page

    client.post(reverse("web:finding_status", args=[finding.pk]), {"action": "resolve"})
    api = APIClient()
    api.force_authenticate(login)
    refused = api.post(f"/api/findings/{finding.pk}/dismiss/", {"reason": "mine, fine"}, format="json")
    assert refused.status_code == 403 and "needs the program office" in refused.json()["detail"]
    with pytest.raises(NotAllowed, match="needs the program office"):
        act_on_findings(actor=login, action="dismiss", ids=[finding.pk], reason="mine, fine")
    assert Finding.objects.get(pk=finding.pk).status == "open"

    act_on_findings(actor=login, action="acknowledge", ids=[finding.pk])
    assert Finding.objects.get(pk=finding.pk).status == "acknowledged"


def test_an_owner_assigned_a_finding_about_what_they_own_still_needs_the_office_to_close_it(olga):
    use_case, login = olga
    finding = FindingFactory(use_cases=[use_case], assignee=use_case.business_owner)
    with pytest.raises(NotAllowed):
        change_finding_status(finding=finding, to_status="resolved", actor=login)


def test_the_policy_can_let_owners_close_findings_about_what_they_own(olga):
    use_case, login = olga
    finding = FindingFactory(use_cases=[use_case])
    Policy.objects.update_or_create(pk=1, defaults={"owners_close_own_findings": True})
    act_on_findings(actor=login, action="dismiss", ids=[finding.pk], reason="Retired last week")
    assert Finding.objects.get(pk=finding.pk).status == "dismissed"


@pytest.mark.parametrize("who, why", [
    ("auditor", "signs in without a role that answers findings"),
    ("gone", "has left the company"),
])
def test_assigning_to_someone_who_could_not_answer_is_refused_naming_them_one_or_many(
        client, program_office_user, who, why):
    if who == "auditor":
        person = PersonFactory(email="aude@example.com")
        UserFactory(username="aude", email="aude@example.com", groups=["auditor"])
    else:
        person = PersonFactory(email="aude@example.com", active=False)
    findings = FindingFactory.create_batch(2, use_cases=[UseCaseFactory()])

    with pytest.raises(InvalidInput, match=f"aude@example.com {why}") as one:
        assign_finding(finding=findings[0], assignee=person, actor=program_office_user)
    assert one.value.field_errors().keys() == {"assignee"}
    with pytest.raises(InvalidInput, match=f"aude@example.com {why}"):
        act_on_findings(actor=program_office_user, action="assign", ids=[f.pk for f in findings], assignee=person.email)

    client.force_login(program_office_user)
    page = client.post(reverse("web:findings_bulk"), {"ids": [f.pk for f in findings], "action": "assign",
                                                      "assignee": person.email}, follow=True).content.decode()
    assert "aude@example.com" in page and why in page
    api = APIClient()
    api.force_authenticate(program_office_user)
    answer = api.post("/api/findings/bulk/", {"ids": [f.pk for f in findings], "action": "assign",
                                              "assignee": person.email}, format="json")
    assert answer.status_code == 400 and "aude@example.com" in answer.content.decode()
    one = api.post(f"/api/findings/{findings[0].pk}/assign/", {"assignee": person.pk}, format="json")
    assert one.status_code == 400 and "aude@example.com" in " ".join(one.json()["assignee"])
    page = client.post(reverse("web:finding_assign", args=[findings[0].pk]), {"assignee": person.email},
                       follow=True).content.decode()
    assert "aude@example.com" in page and why in page
    assert set(Finding.objects.values_list("assignee", "version")) == {(None, 1)}


def test_a_person_without_a_login_yet_may_be_assigned(program_office_user):
    person = PersonFactory(email="newcomer@example.com")
    finding = FindingFactory(use_cases=[UseCaseFactory()])
    assert assign_finding(finding=finding, assignee=person, actor=program_office_user).assignee == person
