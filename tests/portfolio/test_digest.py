"""After a scan, owners hear about what was newly flagged on what they own."""

import datetime

import pytest
import smtplib

from django.core import mail
from django.core.mail.backends import locmem
from django.utils import timezone
from django.test import override_settings
from kombu.exceptions import OperationalError as KombuOperationalError

from portfolio.services.digests import DIGEST_FINDINGS_SHOWN, send_pending_digests, send_scan_digests
from core.actors import COMMAND
from portfolio.models import DigestDelivery, ScanRun
from portfolio.tasks import send_pending_digests_task

from portfolio.services.scans import run_scan_now
from portfolio.detectors.base import Detected
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

    monkeypatch.setattr("portfolio.services.scans.detector", lambda kind: detect)
    return use_cases


def test_each_active_owner_gets_one_email_listing_their_new_findings(flagged):
    ana, bo = PersonFactory(email="ana@example.com"), PersonFactory(email="bo@example.com")
    flagged.extend([
        UseCaseFactory(title="Churn offers", business_owner=ana, technical_owner=bo),
        UseCaseFactory(title="Invoice capture", business_owner=ana, technical_owner=PersonFactory(active=False)),
    ])

    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)

    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert "ana@example.com" in by_recipient and "bo@example.com" in by_recipient
    assert "'Churn offers' is stalled" in by_recipient["ana@example.com"].body
    assert "'Invoice capture' is stalled" in by_recipient["ana@example.com"].body
    assert "Invoice capture" not in by_recipient["bo@example.com"].body
    assert all(person.active for person in (ana, bo))


def test_the_program_office_hears_of_every_new_finding(flagged):
    UserFactory(username="office-lead", email="office@example.com", groups=["program_office"])
    flagged.append(UseCaseFactory(title="Churn offers"))

    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)

    office = [m for m in mail.outbox if m.to == ["office@example.com"]]
    assert len(office) == 1
    assert "opened 1 new finding:" in office[0].body and "Churn offers" in office[0].body


def test_a_long_digest_counts_everything_writes_out_the_most_severe_and_links_to_the_rest(monkeypatch):
    UserFactory(username="office-lead", email="office@example.com", groups=["program_office"])
    owner = PersonFactory(email="ana@example.com")
    use_cases = [UseCaseFactory(title=f"Use case {n:02}", business_owner=owner) for n in range(DIGEST_FINDINGS_SHOWN + 5)]
    severities = {use_cases[-1].pk: "critical", use_cases[-2].pk: "low"}

    def detect(*, as_of, policy):
        return [Detected(kind="stalled_pilot", identity=(u.pk,), severity=severities.get(u.pk, "medium"),
                         title=f"'{u.title}' is stalled", use_case_ids=[u.pk]) for u in use_cases]

    monkeypatch.setattr("portfolio.services.scans.detector", lambda kind: detect)
    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)

    for email in ("ana@example.com", "office@example.com"):
        [message] = [m for m in mail.outbox if m.to == [email]]
        body, html = message.body, message.alternatives[0][0]
        assert f"Stalled pilot: {DIGEST_FINDINGS_SHOWN + 5} (1 critical, {DIGEST_FINDINGS_SHOWN + 3} medium, 1 low)" in body
        assert body.count("is stalled") == DIGEST_FINDINGS_SHOWN
        assert body.index("'Use case 24' is stalled") < body.index("'Use case 00' is stalled")  # critical first
        assert "'Use case 23' is stalled" not in body  # the low one is among those left out
        assert "… and 5 more, less severe: http" in body and "/findings/" in body
        assert "5 more, less severe" in html and html.count("Open the finding") == DIGEST_FINDINGS_SHOWN


def test_a_finding_that_stays_open_is_not_mailed_again(flagged):
    flagged.append(UseCaseFactory(title="Churn offers"))
    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)
    mail.outbox.clear()

    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF + datetime.timedelta(days=1), actor=COMMAND)

    assert mail.outbox == []


def _refuse_connection(*args, **kwargs):
    raise ConnectionRefusedError("mail server refused the connection")


def mail_server_down(monkeypatch):
    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", _refuse_connection)


def mail_server_dropping_after(monkeypatch, delivered: int):
    """A mail server that takes `delivered` messages, then drops the connection."""
    real_send = locmem.EmailBackend.send_messages

    def send_messages(self, messages):
        if len(mail.outbox) >= delivered:
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
        return real_send(self, messages)

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", send_messages)


def test_a_mail_failure_leaves_the_scan_succeeded_and_says_so(flagged, monkeypatch):
    mail_server_down(monkeypatch)
    flagged.append(UseCaseFactory(title="Churn offers"))

    run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)

    run.refresh_from_db()
    assert run.status == "succeeded" and run.opened == 1
    assert "digest emails could not be sent" in run.error


def test_a_runs_digests_go_out_once_however_often_they_are_asked_for(flagged):
    flagged.append(UseCaseFactory(title="Churn offers"))
    run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)
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
        mail_server_down(patched)
        run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)
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
    run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)
    assert queued == [[run.pk]] and mail.outbox == []

    # when the broker is down, the scan mails the digests itself
    def broker_down(args, **options):
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("portfolio.tasks.send_scan_digests_task.apply_async", broker_down)
    flagged.append(UseCaseFactory(title="Invoice capture"))
    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF + datetime.timedelta(days=1), actor=COMMAND)
    assert any("'Invoice capture' is stalled" in message.body for message in mail.outbox)
    assert not any("Churn offers" in message.body for message in mail.outbox)


def test_a_retry_after_the_mail_server_dropped_half_way_mails_only_those_not_reached(flagged, monkeypatch):
    # given: three owners; the server takes one digest, then drops the connection
    for email in ("ana@example.com", "bo@example.com", "cy@example.com"):
        flagged.append(UseCaseFactory(title=f"Churn offers of {email}", business_owner=PersonFactory(email=email)))
    with monkeypatch.context() as patched:
        mail_server_dropping_after(patched, delivered=1)
        run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)
    assert len(mail.outbox) == 1 and "could not be sent" in run.error and run.digests_sent_at is None

    # when: the retry runs with the server back
    send_scan_digests(run)

    # then: everyone has exactly one digest
    recipients = [message.to[0] for message in mail.outbox]
    assert {"ana@example.com", "bo@example.com", "cy@example.com"} <= set(recipients)
    assert len(recipients) == len(set(recipients)) == DigestDelivery.objects.filter(scan_run=run).count()


def test_a_second_sender_leaves_the_run_to_the_one_holding_it(flagged, monkeypatch):
    flagged.append(UseCaseFactory(title="Churn offers"))
    with monkeypatch.context() as patched:
        mail_server_down(patched)
        run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)
    # another worker holds the run's digests (its lease still runs)
    ScanRun.objects.filter(pk=run.pk).update(digests_claimed_until=timezone.now() + datetime.timedelta(minutes=5))

    assert send_scan_digests(run) == 0
    assert mail.outbox == []
    assert send_pending_digests() == []


def test_the_sweep_hands_digests_whose_sender_died_to_a_worker_again(flagged, monkeypatch):
    # given: a sender died half way; its lease has run out
    flagged.append(UseCaseFactory(title="Churn offers"))
    with monkeypatch.context() as patched:
        mail_server_down(patched)
        run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)
    ScanRun.objects.filter(pk=run.pk).update(digests_claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    # and an old run, long finished, is left alone
    old = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF - datetime.timedelta(days=1), actor=COMMAND)
    ScanRun.objects.filter(pk=old.pk).update(digests_sent_at=None, finished_at=timezone.now() - datetime.timedelta(days=3))

    # when
    swept = send_pending_digests_task()

    # then
    assert swept == [run.pk]
    assert any("'Churn offers' is stalled" in message.body for message in mail.outbox)
    run.refresh_from_db()
    assert run.digests_sent_at is not None and run.digests_claimed_until is None
    assert send_pending_digests_task() == []


@override_settings(SITE_URL="https://lastmile.example.com")
def test_a_digest_shows_each_findings_evidence_as_sentences_and_a_capped_table(monkeypatch):
    # given a shared mailbox owning twelve use cases, and an owner among their decision owners
    ana = PersonFactory(email="ana@example.com")
    mailbox = PersonFactory(email="ai-team@example.com")
    members = [UseCaseFactory(title=f"Mailbox use case {i:02}", business_owner=mailbox, decision__owner=ana)
               for i in range(12)]
    UserFactory(username="office-lead", email="office@example.com", groups=["program_office"])
    detected = Detected(
        kind="orphaned_ownership", identity=("mailbox", mailbox.pk, "business_owner"), severity="medium",
        title="The shared mailbox ai-team@example.com is the business owner of 12 use cases in 12 units",
        use_case_ids=[u.pk for u in members],
        detail={"object": "use_cases", "role": "business_owner", "owner": "ai-team@example.com",
                "problem": "generic_mailbox", "count": 12, "in_production": 0,
                "business_units": sorted(u.business_unit.name for u in members)},
    )
    monkeypatch.setattr("portfolio.services.scans.detector", lambda kind: lambda **_: [detected])

    # when the scan mails its digests
    run_scan_now(kinds=["orphaned_ownership"], as_of=AS_OF, actor=COMMAND)

    # then each reads as sentences with the first five use cases and a link to the rest
    office = next(m for m in mail.outbox if m.to == ["office@example.com"])
    finding_url = "https://lastmile.example.com/findings/"
    assert "ai-team@example.com, a shared mailbox, is the only business owner of 12 use cases in 12 units" in office.body
    assert "Mailbox use case 00" in office.body and "Mailbox use case 04" in office.body
    assert "Mailbox use case 05" not in office.body
    assert "… and 7 more: " + finding_url in office.body
    for repr_mark in ("{'", "['", "':", "{\"", "[\""):
        assert repr_mark not in office.body
    html, mimetype = office.alternatives[0]
    assert mimetype == "text/html"
    assert "<table" in html and "Mailbox use case 04" in html and "… and 7 more" in html
    assert f'href="https://lastmile.example.com/use-cases/{members[0].pk}/"' in html
    assert "{&#x27;" not in html and "[&#x27;" not in html
    owner_mail = next(m for m in mail.outbox if m.to == ["ana@example.com"])
    assert "1 new finding on what you own" in owner_mail.subject and "a shared mailbox" in owner_mail.body


def test_a_digest_carries_the_open_findings_assigned_to_its_reader_most_severe_first_and_bounded(flagged):
    from tests.factories import FindingFactory

    nora = PersonFactory(email="nora@example.com")  # owns nothing
    FindingFactory(title="Critical one for Nora", severity="critical", assignee=nora)
    for n in range(DIGEST_FINDINGS_SHOWN + 4):
        FindingFactory(title=f"Low one {n:02}", severity="low", assignee=nora)
    FindingFactory(title="Closed one for Nora", severity="critical", status="resolved", assignee=nora)
    ana = PersonFactory(email="ana@example.com")
    FindingFactory(title="Ana's assigned one", severity="medium", assignee=ana)
    flagged.append(UseCaseFactory(title="Churn offers", business_owner=ana))

    run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=COMMAND)

    by_recipient = {message.to[0]: message for message in mail.outbox}
    to_nora = by_recipient["nora@example.com"]
    assert to_nora.subject == f"Last Mile: {DIGEST_FINDINGS_SHOWN + 5} findings assigned to you"
    assert f"Assigned to you, still open: {DIGEST_FINDINGS_SHOWN + 5} findings:" in to_nora.body
    assert to_nora.body.index("Critical one for Nora") < to_nora.body.index("Low one 00")
    assert to_nora.body.count("Low one") == DIGEST_FINDINGS_SHOWN - 1 and "Closed one" not in to_nora.body
    assert "… and 5 more: http://localhost:8000/findings/?mine=on&status=active" in to_nora.body
    assert "Critical one for Nora" in to_nora.alternatives[0][0]
    to_ana = by_recipient["ana@example.com"]
    assert "'Churn offers' is stalled" in to_ana.body and "Ana's assigned one" in to_ana.body
