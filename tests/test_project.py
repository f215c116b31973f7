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
