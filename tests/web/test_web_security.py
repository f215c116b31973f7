"""Sign-in lockout (django-axes), the password-reset throttle, and the security headers that every
response carries (Content-Security-Policy, Permissions-Policy)."""

import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db.models import F
from django.urls import reverse

from tests.factories import UserFactory
from tests.web_setup import own_use_case, owner_person  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
LOGIN_FORMS = ["/accounts/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def _mail_kept(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def sign_in(client, url, username, password, ip="203.0.113.7", **extra):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def signed_in(client):
    return "_auth_user_id" in client.session


def time_passes(delta):
    """Time travel for the lockout: the recorded attempts were made `delta` earlier."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - delta)


# Sign-in lockout ----------------------------------------------------------------------------------

def test_the_lockout_defaults_are_twenty_failures_and_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 20
    assert settings.AXES_COOLOFF_TIME == datetime.timedelta(minutes=15)


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_twenty_wrong_passwords_lock_the_account_until_the_cool_off_ends(client, url):
    UserFactory(username="office")
    for attempt in range(19):
        assert sign_in(client, url, "office", f"guess-{attempt}").status_code == 200

    locked = sign_in(client, url, "office", "guess-19")
    assert locked.status_code == 429
    body = locked.content.decode()
    assert "Too many failed sign-ins" in body and "15 minutes" in body
    assert '<main id="main">' in body and "site.css" in body  # the site's layout, not a bare message

    right = sign_in(client, url, "office", PASSWORD)
    assert right.status_code == 429 and not signed_in(client)

    time_passes(datetime.timedelta(minutes=14))
    assert sign_in(client, url, "office", PASSWORD).status_code == 429

    time_passes(settings.AXES_COOLOFF_TIME + datetime.timedelta(minutes=1))
    allowed = sign_in(client, url, "office", PASSWORD)
    assert allowed.status_code == 302 and signed_in(client)


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_failures_from_many_addresses_still_lock_the_account(client, url):
    UserFactory(username="office")
    UserFactory(username="auditor")
    for n in range(20):
        sign_in(client, url, "office", "guess", ip=f"198.51.100.{n}")

    assert sign_in(client, url, "office", PASSWORD, ip="192.0.2.1").status_code == 429
    assert not signed_in(client)
    # Another account, from an address that failed nothing, is not affected.
    assert sign_in(client, url, "auditor", PASSWORD, ip="192.0.2.1").status_code == 302


def test_failures_from_one_client_lock_that_client_out_of_every_account(client):
    UserFactory(username="office")
    for n in range(20):
        sign_in(client, "/accounts/login/", f"nobody-{n}", "guess", ip="203.0.113.9")

    assert sign_in(client, "/admin/login/", "office", PASSWORD, ip="203.0.113.9").status_code == 429
    assert sign_in(client, "/accounts/login/", "office", PASSWORD, ip="203.0.113.9").status_code == 429
    assert not signed_in(client)
    assert sign_in(client, "/accounts/login/", "office", PASSWORD, ip="198.51.100.4").status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_client_is_locked_not_the_proxy(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="office")
    proxy = "10.0.0.2"
    for n in range(20):
        # A client may send its own X-Forwarded-For; the proxy appends the address it saw.
        sign_in(client, "/accounts/login/", f"nobody-{n}", "guess", ip=proxy,
                HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.66")

    assert sign_in(client, "/accounts/login/", "office", PASSWORD, ip=proxy,
                   HTTP_X_FORWARDED_FOR="203.0.113.66").status_code == 429
    assert sign_in(client, "/accounts/login/", "office", PASSWORD, ip=proxy,
                   HTTP_X_FORWARDED_FOR="203.0.113.67").status_code == 302


def test_sign_in_attempts_are_recorded(client):
    from axes.models import AccessFailureLog, AccessLog

    UserFactory(username="office")
    for _ in range(3):
        sign_in(client, "/accounts/login/", "office", "guess", ip="203.0.113.8")
    sign_in(client, "/admin/login/", "office", PASSWORD, ip="203.0.113.8")

    assert AccessFailureLog.objects.filter(username="office", ip_address="203.0.113.8").count() == 3
    assert AccessLog.objects.filter(username="office", ip_address="203.0.113.8").count() == 1


def test_the_attempt_records_are_in_the_admin(client):
    client.force_login(UserFactory(username="root", is_superuser=True))
    for model in ("accessattempt", "accessfailurelog", "accesslog"):
        assert client.get(reverse(f"admin:axes_{model}_changelist")).status_code == 200


# Password-reset throttle --------------------------------------------------------------------------

def reset(client, email, ip="203.0.113.30"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def test_an_address_is_mailed_at_most_three_reset_links_an_hour(client, caplog):
    owner = UserFactory(username="owner")
    office = UserFactory(username="office")
    for n, email in enumerate([owner.email, owner.email, owner.email.upper(), owner.email, owner.email]):
        response = reset(client, email, ip=f"198.51.100.{n}")  # from anywhere: counted per address
        # Throttled or not, the answer is the same: it tells nobody whether the address exists.
        assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")

    assert len(mail.outbox) == 3
    assert reset(client, office.email).status_code == 302
    assert len(mail.outbox) == 4

    records = [r.getMessage() for r in caplog.records if r.name == "lastmile.security"]
    assert len(records) == 6
    assert sum("not sent" in message for message in records) == 2
    assert all("198.51.100." in message or "203.0.113.30" in message for message in records)


def test_one_client_asking_for_many_resets_is_refused_with_429(client, caplog):
    for n in range(10):
        assert reset(client, f"someone-{n}@example.com", ip="203.0.113.20").status_code == 302

    refused = reset(client, "someone-else@example.com", ip="203.0.113.20")
    assert refused.status_code == 429
    body = refused.content.decode()
    assert "Too many password-reset requests" in body and '<main id="main">' in body
    assert any("refused" in r.getMessage() and "203.0.113.20" in r.getMessage()
               for r in caplog.records if r.name == "lastmile.security")

    assert reset(client, "someone-else@example.com", ip="198.51.100.20").status_code == 302


def test_an_invalid_reset_form_is_not_counted(client):
    for _ in range(12):
        assert reset(client, "not-an-email").status_code == 200
    assert reset(client, "someone@example.com").status_code == 302


# Security headers ---------------------------------------------------------------------------------

def directives(header):
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def assert_strict(response):
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    for name in ("script-src", "style-src"):
        values = policy.get(name, policy["default-src"])
        assert "'unsafe-inline'" not in values and "'unsafe-eval'" not in values and "*" not in values, name
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions
    return policy


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/password_reset/", "/admin/login/", "/healthz",
                                 "/api/use-cases/", "/no-such-page/", "/static/web/site.css"])
def test_every_response_carries_a_strict_policy_and_a_permissions_policy(client, url):
    response = client.get(url)
    assert_strict(response)


def test_signed_in_pages_carry_them_and_render_no_inline_style(client, program_office_user, own_use_case):  # noqa: F811
    client.force_login(program_office_user)
    for url in ("/", "/portfolio/", "/findings/", f"/use-cases/{own_use_case.pk}/", "/import/", "/admin/",
                "/admin/registry/usecase/", f"/admin/registry/usecase/{own_use_case.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict(response)
        if not url.startswith("/admin/"):
            body = response.content.decode()
            assert not re.search(r"\sstyle=|<script(?![^>]*\bsrc=)|\son[a-z]+=", body), url


def test_the_heat_table_colours_its_cells_with_classes(client, program_office_user, own_use_case):  # noqa: F811
    client.force_login(program_office_user)
    body = client.get("/portfolio/").content.decode()
    assert re.search(r'<td class="num heat-[0-9a-f]{6}">', body)
    css = (ROOT / "web/static/web/site.css").read_text()
    from web.charts import readiness_cell_style
    for score in range(4):
        assert f".heat-{readiness_cell_style(score)[1:]}" in css


INLINE = re.compile(
    r"<script(?![^>]*\b(?:src|nonce)=)(?![^>]*application/json)|<style(?![^>]*\bnonce=)|\son[a-z]+\s*=|\sstyle\s*=|javascript:",
    re.IGNORECASE,
)


def test_no_template_has_an_inline_script_style_or_event_handler():
    offending = [f"{path.relative_to(ROOT)}:{number}"
                 for folder in ("templates", "web/templates") if (ROOT / folder).exists()
                 for path in (ROOT / folder).rglob("*.html")
                 for number, line in enumerate(path.read_text().splitlines(), 1) if INLINE.search(line)]
    assert offending == []


def test_api_docs_inline_script_carries_the_nonce_of_its_policy(client, program_office_user):
    client.force_login(program_office_user)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = assert_strict(response)
    body = response.content.decode()
    nonces = set(re.findall(r'<(?:script|style) nonce="([^"]+)"', body))
    assert len(nonces) == 1
    assert f"'nonce-{nonces.pop()}'" in policy["script-src"]
    assert not re.search(r"<script>|<style>", body)
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in body  # served here, not from a CDN


def test_pages_without_an_inline_script_get_no_nonce(client):
    policy = directives(client.get("/accounts/login/")["Content-Security-Policy"])
    assert not any(value.startswith("'nonce-") for values in policy.values() for value in values)


def test_a_username_longer_than_any_account_is_recorded_cut_and_counted(client):
    from axes.models import AccessAttempt

    for _ in range(20):
        assert sign_in(client, "/accounts/login/", "x" * 500, "guess").status_code in (200, 429)
    assert AccessAttempt.objects.get().username == "x" * 255
    assert sign_in(client, "/accounts/login/", "x" * 400, "guess", ip="198.51.100.77").status_code == 429


def test_a_forwarded_address_that_is_no_address_is_not_believed(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    from axes.models import AccessAttempt

    sign_in(client, "/accounts/login/", "office", "guess", ip="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert AccessAttempt.objects.get().ip_address == "10.0.0.2"
