"""/health/ never needs the database; /ready/ needs it reachable and fully migrated."""

from __future__ import annotations

import json
import socket
import time

import pytest
from django.core.management import call_command

from tests.conftest import closed_port_url, current_db_url


def test_health_answers_ok_with_release(client, settings):
    settings.APP_RELEASE = "0.1.0-abc123def456"
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "release": "0.1.0-abc123def456"}
    assert response["X-App-Release"] == "0.1.0-abc123def456"
    assert "no-cache" in response["Cache-Control"]


def test_health_ignores_host_validation_and_https_redirect(client, settings):
    # The ALB health check uses the instance IP as Host, over plain HTTP.
    settings.ALLOWED_HOSTS = ["app.example.test"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/health/", HTTP_HOST="10.0.3.17").status_code == 200
    assert client.get("/notes/", HTTP_HOST="10.0.3.17").status_code == 400


@pytest.mark.django_db
def test_ready_when_database_is_migrated(client):
    response = client.get("/ready/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert body["release"] == "test-release"


@pytest.mark.django_db(transaction=True)
def test_ready_503_with_an_unapplied_migration(client):
    call_command("migrate", "notes", "zero", verbosity=0)
    try:
        response = client.get("/ready/")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["reason"] == "1 unapplied migration(s)"
        assert body["pending_migrations"] == ["notes.0001_initial"]
        assert client.get("/health/").status_code == 200
    finally:
        call_command("migrate", "notes", verbosity=0)
    assert client.get("/ready/").status_code == 200


def test_health_200_and_ready_503_with_database_down(gunicorn):
    server = gunicorn(workers=1, DATABASE_URL=closed_port_url())
    status, _, body = server.get("/health/")
    assert status == 200
    assert json.loads(body)["status"] == "ok"
    started = time.monotonic()
    status, headers, body = server.get("/ready/")
    assert status == 503
    assert json.loads(body) == {
        "status": "unavailable",
        "reason": "database unavailable",
        "release": "dev",
    }
    assert headers["X-App-Release"] == "dev"
    assert time.monotonic() - started < 3


def test_ready_gives_up_quickly_on_a_silent_database(gunicorn):
    # A listener that never speaks: without connect_timeout /ready/ hangs until gunicorn kills it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        server = gunicorn(
            workers=1,
            DATABASE_URL=f"postgres://nobody:fake-password@127.0.0.1:{port}/nothing",
            DB_CONNECT_TIMEOUT="2",
        )
        started = time.monotonic()
        status, _, body = server.get("/ready/", timeout=20)
        elapsed = time.monotonic() - started
    assert status == 503
    assert json.loads(body)["reason"] == "database unavailable"
    assert 1.5 < elapsed < 10, elapsed


@pytest.mark.django_db(transaction=True)
def test_ready_200_through_gunicorn(gunicorn):
    server = gunicorn(workers=1, DATABASE_URL=current_db_url(), APP_RELEASE="0.2.0-0123456789ab")
    status, headers, body = server.get("/ready/")
    assert status == 200, server.logs()
    assert json.loads(body)["status"] == "ready"
    assert headers["X-App-Release"] == "0.2.0-0123456789ab"
