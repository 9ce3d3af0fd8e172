"""/metrics: django-prometheus request, latency and database series; multi-worker aggregation."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families
from sampleapp import gunicorn_hooks

from tests.conftest import closed_port_url, current_db_url


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from Prometheus exposition text."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(all_samples, name: str, **labels) -> float:
    return all_samples.get((name, tuple(sorted(labels.items()))), 0.0)


def db_executes(all_samples) -> float:
    return sum(v for (name, _), v in all_samples.items() if name == "django_db_execute_total")


@pytest.mark.django_db
def test_metrics_count_requests_latency_and_queries(client):
    before = samples(client.get("/metrics").content.decode())
    assert client.get("/api/notes/").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    after = samples(text)
    view = {"method": "GET", "view": "notes:api-list"}
    name = "django_http_responses_total_by_status_view_method_total"
    assert value(after, name, status="200", **view) - value(before, name, status="200", **view) == 1
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert "django_http_requests_total_by_method_total" in text
    assert db_executes(after) > db_executes(before)
    assert 'django_db_new_connections_total{alias="default",vendor="postgresql"}' in text


@pytest.mark.django_db(transaction=True)
def test_metrics_are_summed_over_gunicorn_workers(gunicorn, tmp_path):
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    (multiproc / "counter_999999.db").write_bytes(b"stale from a previous run")
    # Workers retire after 4 requests: the counts must survive them (child_exit keeps counters).
    server = gunicorn(
        workers=2,
        args=("--max-requests", "4"),
        DATABASE_URL=current_db_url(),
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
    )
    assert not (multiproc / "counter_999999.db").exists(), "on_starting should clear stale samples"
    requests = 12
    for i in range(requests):
        status, _, _ = server.post_json("/api/notes/", {"title": f"metrics {i}"})
        assert status == 201, server.logs()
    pids = {p.stem.rsplit("_", 1)[1] for p in multiproc.glob("*.db")}
    assert len(pids) >= 3, f"expected files from several workers, got {sorted(pids)}"
    # Whichever worker answers /metrics, the counters are the sum over all workers.
    for _ in range(4):
        status, _, body = server.get("/metrics")
        assert status == 200
        text = body.decode()
        got = samples(text)
        created = value(
            got,
            "django_http_responses_total_by_status_view_method_total",
            method="POST",
            status="201",
            view="notes:api-list",
        )
        assert created == requests, text
        assert db_executes(got) >= requests
        # The default registry's process collectors are absent: this is the multiprocess view.
        assert "python_info" not in text
    status, _, body = server.get("/api/notes/")
    assert json.loads(body)["count"] == requests


def test_child_exit_marks_the_worker_dead(monkeypatch, tmp_path):
    live = tmp_path / "gauge_livesum_4242.db"
    counter = tmp_path / "counter_4242.db"
    other = tmp_path / "gauge_livesum_5151.db"
    for path in (live, counter, other):
        path.write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gunicorn_hooks.child_exit(server=None, worker=SimpleNamespace(pid=4242))
    assert not live.exists()
    assert counter.exists(), "counters of dead workers still count"
    assert other.exists()


def test_hooks_do_nothing_without_multiproc_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    gunicorn_hooks.on_starting(server=None)
    gunicorn_hooks.child_exit(server=None, worker=SimpleNamespace(pid=os.getpid()))
    assert list(Path(tmp_path).iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_readiness_and_release_gauges_follow_the_probe(client, settings):
    settings.APP_RELEASE = "0.9.9-gauge"
    text = client.get("/metrics").content.decode()
    assert value(samples(text), "django_app_ready") == 1.0
    assert value(samples(text), "django_app_release_info", release="0.9.9-gauge") == 1.0
    call_command("migrate", "notes", "zero", verbosity=0)
    try:
        assert value(samples(client.get("/metrics").content.decode()), "django_app_ready") == 0.0
    finally:
        call_command("migrate", "notes", verbosity=0)
    assert value(samples(client.get("/metrics").content.decode()), "django_app_ready") == 1.0


def test_readiness_gauge_is_zero_with_database_down(gunicorn):
    server = gunicorn(workers=1, DATABASE_URL=closed_port_url())
    status, _, body = server.get("/metrics")
    assert status == 200
    assert value(samples(body.decode()), "django_app_ready") == 0.0
