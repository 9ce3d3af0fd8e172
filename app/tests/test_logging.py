"""Logs: one JSON object per line on stdout, with request path and status."""

from __future__ import annotations

import json
import logging
import sys

from django.test import RequestFactory
from sampleapp.logging import JsonFormatter

from tests.conftest import closed_port_url


def make_record(**extra) -> logging.LogRecord:
    record = logging.LogRecord("x.y", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    for key, val in extra.items():
        setattr(record, key, val)
    return record


def test_formatter_basic_fields():
    entry = json.loads(JsonFormatter().format(make_record()))
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "x.y"
    assert entry["message"] == "hello world"
    assert entry["time"].endswith("+00:00")


def test_formatter_takes_path_and_status_from_django_records():
    request = RequestFactory().get("/api/notes/5/")
    entry = json.loads(JsonFormatter().format(make_record(request=request, status_code=404)))
    assert (entry["path"], entry["method"], entry["status"]) == ("/api/notes/5/", "GET", 404)
    assert "request" not in entry


def test_formatter_keeps_extras_and_exceptions_on_one_line():
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = make_record(duration_ms=1.5, obj=object())
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["duration_ms"] == 1.5
    assert entry["obj"].startswith("<object object")
    assert "ValueError: boom" in entry["exc_info"]


def test_gunicorn_stdout_is_json_lines_with_request_facts(gunicorn):
    server = gunicorn(workers=1, DATABASE_URL=closed_port_url(), DJANGO_LOG_LEVEL="DEBUG")
    assert server.get("/health/")[0] == 200
    assert server.get("/no/such/page/")[0] == 404
    assert server.get("/ready/")[0] == 503
    lines = [line for line in server.stdout.read_text().splitlines() if line.strip()]
    assert lines, server.logs()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
    access = {
        (e.get("path"), e.get("status")) for e in entries if e["logger"] == "sampleapp.access"
    }
    assert {("/health/", 200), ("/no/such/page/", 404), ("/ready/", 503)} <= access
    not_found = [e for e in entries if e["logger"] == "django.request"]
    assert any(e.get("path") == "/no/such/page/" and e.get("status") == 404 for e in not_found)
    assert any(e["logger"] == "sampleapp.probes" and e["level"] == "WARNING" for e in entries)
    assert "fake-password" not in server.stdout.read_text()


def test_probe_access_lines_are_debug_only(gunicorn):
    server = gunicorn(workers=1, DATABASE_URL=closed_port_url())
    assert server.get("/health/")[0] == 200
    assert server.get("/api/notes/")[0] == 500
    entries = [json.loads(x) for x in server.stdout.read_text().splitlines() if x.strip()]
    paths = [e.get("path") for e in entries if e["logger"] == "sampleapp.access"]
    assert "/health/" not in paths
    assert "/api/notes/" in paths
