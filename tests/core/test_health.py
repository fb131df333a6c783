"""/healthz and /readyz (issue 20): readiness names the dependency that is down, with real unreachable ones."""

import socket

import pytest
from django.db import connections

from config.celery import app as celery_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def broker_down(monkeypatch):
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    # The configuration first: its current value (read while the environment still holds the real URL) comes back.
    monkeypatch.setattr(celery_app.conf, "broker_url", url)
    monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery reads the environment before its configuration


@pytest.fixture
def database_down(monkeypatch):
    db = connections.settings["default"]
    if db["ENGINE"].endswith("sqlite3"):
        monkeypatch.setitem(db, "NAME", "/nonexistent-earmark-folder/db.sqlite3")
    else:
        monkeypatch.setitem(db, "PORT", _closed_port())


@pytest.fixture
def storage_down(settings, tmp_path):
    missing = tmp_path / "not-there"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(missing)}},
    }


def test_healthz_answers_without_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_ready_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok", "storage": "ok"}}


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_down(client, broker_down):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["detail"] == "Not ready: the broker is unreachable."
    assert body["checks"]["database"] == "ok" and body["checks"]["storage"] == "ok"
    assert body["checks"]["broker"].startswith("unreachable") or body["checks"]["broker"] == "timed out"
    assert "127.0.0.1" not in str(body), "no address or credential in the answer"


@pytest.mark.django_db
def test_readyz_names_storage_when_the_media_folder_is_missing(client, storage_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "Not ready: the storage is unreachable.", response.json()


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_is_down(client, database_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "Not ready: the database is unreachable."


@pytest.mark.django_db
def test_readyz_names_all_three_when_all_are_down(client, database_down, broker_down, storage_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "Not ready: the database, broker and storage are unreachable."


@pytest.mark.django_db
def test_readyz_on_s3_checks_the_bucket(client, s3_storage, settings):
    assert client.get("/readyz").json()["checks"]["storage"] == "ok"
    settings.STORAGES["default"]["OPTIONS"]["bucket_name"] = "earmark-no-such-bucket"
    settings.STORAGES = {**settings.STORAGES}
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["storage"].startswith("unreachable")


def test_probes_are_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/projects/").status_code == 301
