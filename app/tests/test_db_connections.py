"""Persistent database connections with health checks, through gunicorn on real PostgreSQL.

The server keeps one connection per worker between requests (CONN_MAX_AGE > 0). When the
database drops it (failover, restart, idle timeout), the health check must notice at the
start of the next request and reconnect, instead of failing that request.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection

from tests.conftest import current_db_url

APP_NAME = "sampleapp-conn-health-test"  # tags the server's backend in pg_stat_activity


def server_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APP_NAME])
        return sorted(row[0] for row in cursor.fetchall())


def terminate(pids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
        assert all(row[0] for row in cursor.fetchall()), "a backend could not be terminated"
    deadline = time.monotonic() + 10
    while server_backends() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server_backends(), "the terminated backend is still there"


@pytest.mark.django_db(transaction=True)
def test_request_after_the_backend_is_killed_reconnects(gunicorn):
    server = gunicorn(
        workers=1,
        DATABASE_URL=f"{current_db_url()}?application_name={APP_NAME}",
        DB_CONN_MAX_AGE="300",
    )
    for _ in range(2):
        status, _, body = server.get("/ready/")
        assert status == 200, body
    before = server_backends()
    assert len(before) == 1, f"one persistent connection held between requests, got {before}"

    terminate(before)

    status, _, body = server.get("/ready/")
    assert status == 200, (body, server.logs())
    status, _, body = server.get("/api/notes/")
    assert status == 200, (body, server.logs())
    after = server_backends()
    assert len(after) == 1, after
    assert after != before, "the server did not open a new connection"
