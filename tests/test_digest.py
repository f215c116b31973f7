"""After a scan, owners hear about what was newly flagged on what they own."""

import datetime

import pytest
from django.core import mail

from portfolio.scanning import run_scan_now
from portfolio.scans.base import Detected
from tests.factories import PersonFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 2)


@pytest.fixture
def flagged(monkeypatch):
    """Detectors that flag exactly the use cases the test puts in the list."""
    use_cases = []

    def detect(*, as_of, policy):
        return [
            Detected(kind="stalled_pilot", identity=(u.pk,), severity="high", title=f"'{u.title}' is stalled",
                     use_case_ids=[u.pk], decision_ids=[u.decision_id])
            for u in use_cases
        ]

    monkeypatch.setattr("portfolio.scanning.detector", lambda kind: detect)
    return use_cases


def test_each_active_owner_gets_one_email_listing_their_new_findings(flagged):
    ana, bo = PersonFactory(email="ana@example.com"), PersonFactory(email="bo@example.com")
    flagged.extend([
        UseCaseFactory(title="Churn offers", business_owner=ana, technical_owner=bo),
        UseCaseFactory(title="Invoice capture", business_owner=ana, technical_owner=PersonFactory(active=False)),
    ])

    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF)

    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert "ana@example.com" in by_recipient and "bo@example.com" in by_recipient
    assert "'Churn offers' is stalled" in by_recipient["ana@example.com"].body
    assert "'Invoice capture' is stalled" in by_recipient["ana@example.com"].body
    assert "Invoice capture" not in by_recipient["bo@example.com"].body
    assert all(person.active for person in (ana, bo))


def test_the_program_office_gets_the_whole_list(flagged):
    UserFactory(username="office-lead", email="office@example.com", groups=["program_office"])
    flagged.append(UseCaseFactory(title="Churn offers"))

    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF)

    office = [m for m in mail.outbox if m.to == ["office@example.com"]]
    assert len(office) == 1
    assert "opened 1 finding(s)" in office[0].body and "Churn offers" in office[0].body


def test_a_finding_that_stays_open_is_not_mailed_again(flagged):
    flagged.append(UseCaseFactory(title="Churn offers"))
    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF)
    mail.outbox.clear()

    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF + datetime.timedelta(days=1))

    assert mail.outbox == []


def test_a_mail_failure_leaves_the_scan_succeeded_and_says_so(flagged, monkeypatch):
    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("mail server refused the connection")

    monkeypatch.setattr("portfolio.digest.send_mass_mail", smtp_down)
    flagged.append(UseCaseFactory(title="Churn offers"))

    run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF)

    run.refresh_from_db()
    assert run.status == "succeeded" and run.opened == 1
    assert "digest emails could not be sent" in run.error
