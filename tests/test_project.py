"""The project's promises outside the domain: settings, migrations, health, the compose file."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
APP_SERVICES = ["web", "worker", "beat"]


def run_manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_production_settings_pass_the_deployment_checks():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="k" * 30 + "-production-secret-that-is-long-enough",
        ALLOWED_HOSTS="lastmile.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("secret", ["", "short", "django-insecure-last-mile-local-development-only"])
def test_production_refuses_to_start_without_a_real_secret(secret):
    result = run_manage(
        "check", DJANGO_SETTINGS_MODULE="config.settings.production", ALLOWED_HOSTS="lastmile.example.com", SECRET_KEY=secret
    )

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_models_and_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_broker(client, db):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"]  # "ok", "in-process …" or "unreachable: …", never missing


def test_compose_names_the_five_services():
    assert set(COMPOSE["services"]) == {"db", "redis", "web", "worker", "beat"}


def test_compose_app_services_share_image_and_environment():
    services = COMPOSE["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    environments = [services[name]["environment"] for name in APP_SERVICES]

    assert len(images) == 1
    assert all(env == environments[0] for env in environments)
    env = environments[0]
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert "SECRET_KEY" in env


def test_compose_database_credentials_match_the_app():
    db_env = COMPOSE["services"]["db"]["environment"]
    database_url = COMPOSE["services"]["web"]["environment"]["DATABASE_URL"]

    assert f"//{db_env['POSTGRES_USER']}:" in database_url
    assert database_url.endswith(f"/{db_env['POSTGRES_DB']}")
    assert db_env["POSTGRES_PASSWORD"].split(":-")[0] in database_url


def test_compose_web_migrates_on_start_serves_with_gunicorn_and_is_health_checked():
    web = COMPOSE["services"]["web"]
    command = " ".join(web["command"])

    assert command.index("migrate") < command.index("gunicorn")
    assert "readyz" in " ".join(web["healthcheck"]["test"])
    for service in ("db", "redis"):
        assert web["depends_on"][service]["condition"] == "service_healthy"
        assert COMPOSE["services"][service]["healthcheck"]


def test_compose_runs_a_celery_worker_and_beat_on_the_project_app():
    services = COMPOSE["services"]

    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_the_image_serves_static_files_through_whitenoise():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "collectstatic" in dockerfile
    assert "requirements.txt" in dockerfile


@pytest.mark.django_db
def test_the_suite_puts_back_the_migration_made_rows_a_flush_removed():
    """A transactional test's flush empties the tables; with --reuse-db the next run would find
    no role groups (tests/conftest.py puts them back with the migration's own function)."""
    from django.contrib.auth.models import Group

    from registry.models import FrictionPoint
    from registry.access import ROLE_GROUPS
    from tests.conftest import restore_reference_data

    # given: what a flush leaves
    Group.objects.all().delete()
    FrictionPoint.objects.all().delete()
    # when
    restore_reference_data()
    restore_reference_data()  # and again: idempotent
    # then
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(ROLE_GROUPS)
    assert Group.objects.get(name="auditor").permissions.filter(codename="view_usecase").exists()
    assert not Group.objects.get(name="auditor").permissions.exclude(codename__startswith="view_").exists()
    assert Group.objects.get(name="auditor").permissions.filter(codename="view_finding").exists()
    assert Group.objects.get(name="program_office").permissions.filter(codename="change_policy").exists()
    assert FrictionPoint.objects.count() == 7


@pytest.mark.slow
def test_the_static_files_the_image_serves_collect_with_hashed_names(tmp_path):
    """The Dockerfile's collectstatic, with the production storage: a stylesheet or script of
    ours or of a package that names a missing file would fail the image build."""
    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", "--noinput", stdout=io.StringIO())

    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "web/" in manifest and "drf_spectacular_sidecar/" in manifest and "admin/" in manifest


@pytest.mark.parametrize(("cache_url", "redis_url", "expected"), [
    ("", "", "locmemcache://"),  # no broker: tasks run in process, one process counts alone
    ("", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"),
    ("", "redis://:secret@redis:6379/14", "redis://:secret@redis:6379/15"),
    ("", "redis://redis:6379", "redis://redis:6379/1"),
    ("", "rediss://redis:6380/3?ssl_cert_reqs=required", "rediss://redis:6380/4?ssl_cert_reqs=required"),
    ("", "redis://redis:6379/15", "redis://redis:6379/14"),  # the last of Redis's 16 databases
    ("redis://cache:6379/3", "redis://redis:6379/0", "redis://cache:6379/3"),  # CACHE_URL wins
    ("locmemcache://", "redis://redis:6379/0", "locmemcache://"),
    ("redis://cache:6379/3", "", "redis://cache:6379/3"),
])
def test_the_cache_is_redis_wherever_a_broker_is_configured(cache_url, redis_url, expected):
    """The API's throttle counts (and the password-reset counts) live in the cache: with a broker
    there are several processes, which must count together. Never the broker's own database: a
    cache clear() empties its database."""
    from config.settings.base import default_cache_url

    assert default_cache_url(cache_url=cache_url, redis_url=redis_url) == expected


def test_a_broker_url_without_a_redis_database_asks_for_cache_url():
    from django.core.exceptions import ImproperlyConfigured

    from config.settings.base import default_cache_url

    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        default_cache_url(cache_url="", redis_url="redis+socket:///run/redis.sock")
    assert default_cache_url(cache_url="redis://cache:6379/2", redis_url="redis+socket:///run/redis.sock") \
        == "redis://cache:6379/2"


@pytest.mark.parametrize(("environment", "backend"), [
    ({"REDIS_URL": "redis://127.0.0.1:6379/4", "CACHE_URL": ""}, "RedisCache redis://127.0.0.1:6379/5"),
    ({"REDIS_URL": "", "CACHE_URL": ""}, "LocMemCache"),
])
def test_the_settings_use_that_cache(environment, backend):
    result = run_manage(
        "shell", "-c", "from django.conf import settings; c = settings.CACHES['default']; "
                       "print(c['BACKEND'].rsplit('.', 1)[1], c.get('LOCATION', ''))",
        **environment,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(backend)


def test_compose_shares_the_cache_in_redis_apart_from_the_broker_and_trusts_one_proxy():
    from config.settings.base import default_cache_url

    env = COMPOSE["services"]["web"]["environment"]
    cache = default_cache_url(cache_url=env.get("CACHE_URL", ""), redis_url=env["REDIS_URL"])
    assert cache.startswith("redis://redis:6379/") and cache != env["REDIS_URL"]
    # The README puts a TLS proxy in front: the client is the address it forwards, not the proxy's.
    assert str(env["TRUSTED_PROXY_COUNT"]).startswith("${TRUSTED_PROXY_COUNT:-1}")


@pytest.mark.skipif((ROOT / "staticfiles" / "staticfiles.json").exists(), reason="collectstatic has been run here")
def test_a_newcomers_runserver_with_debug_off_and_no_collectstatic_serves_pages_and_their_static_files(tmp_path):
    """`manage.py runserver` with the default settings (DEBUG off) and no `collectstatic`: the
    sign-in page and its stylesheet answer, a missing page is the site's 404."""
    import re
    import socket
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # A fresh SQLite file, as a newcomer's first start has: these pages read no table.
    environment = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DEBUG")} | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=ROOT,
                              env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                page = urllib.request.urlopen(f"{base}/accounts/login/", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        else:
            pytest.fail("runserver did not answer")
        html = page.read().decode()
        assert page.status == 200
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
        assert urllib.request.urlopen(base + stylesheet, timeout=5).status == 200
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/no-such-page/", timeout=5)
        assert missing.value.code == 404 and "Traceback" not in missing.value.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)
