"""After a scan, owners hear about what was newly flagged on what they own."""

import datetime

import pytest
from django.core import mail
from django.test import override_settings
from kombu.exceptions import OperationalError as KombuOperationalError

from portfolio.digest import send_scan_digests

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


def _refuse_connection(*args, **kwargs):
    raise ConnectionRefusedError("mail server refused the connection")


def test_a_mail_failure_leaves_the_scan_succeeded_and_says_so(flagged, monkeypatch):
    monkeypatch.setattr("portfolio.digest.send_mass_mail", _refuse_connection)
    flagged.append(UseCaseFactory(title="Churn offers"))

    run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF)

    run.refresh_from_db()
    assert run.status == "succeeded" and run.opened == 1
    assert "digest emails could not be sent" in run.error


def test_a_runs_digests_go_out_once_however_often_they_are_asked_for(flagged):
    flagged.append(UseCaseFactory(title="Churn offers"))
    run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF)
    sent = len(mail.outbox)

    # when: a redelivered digest task runs again
    again = send_scan_digests(run)

    # then
    assert sent > 0 and again == 0
    assert len(mail.outbox) == sent
    run.refresh_from_db()
    assert run.digests_sent_at is not None


def test_digests_that_failed_are_sent_by_the_retry(flagged, monkeypatch):
    # given: the mail server is down during the scan
    flagged.append(UseCaseFactory(title="Churn offers"))
    with monkeypatch.context() as patched:
        patched.setattr("portfolio.digest.send_mass_mail", _refuse_connection)
        run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF)
    assert mail.outbox == [] and run.digests_sent_at is None

    # when: the digest task retries once the server is back
    sent = send_scan_digests(run)

    # then
    run.refresh_from_db()
    assert sent == len(mail.outbox) > 0
    assert "'Churn offers' is stalled" in mail.outbox[0].body
    assert run.error == "" and run.digests_sent_at is not None


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_a_scan_queues_its_digests_for_a_worker_and_sends_them_itself_when_the_broker_is_down(flagged, monkeypatch):
    queued = []
    monkeypatch.setattr("portfolio.tasks.send_scan_digests_task.apply_async",
                        lambda args, **options: queued.append(args))
    flagged.append(UseCaseFactory(title="Churn offers"))

    # when the broker takes the task, nothing is mailed by the scan itself
    run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF)
    assert queued == [[run.pk]] and mail.outbox == []

    # when the broker is down, the scan mails the digests itself
    def broker_down(args, **options):
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("portfolio.tasks.send_scan_digests_task.apply_async", broker_down)
    flagged.append(UseCaseFactory(title="Invoice capture"))
    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF + datetime.timedelta(days=1))
    assert any("'Invoice capture' is stalled" in message.body for message in mail.outbox)
    assert not any("Churn offers" in message.body for message in mail.outbox)
