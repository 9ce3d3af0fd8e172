"""Proof on live data: every PromQL expression of the dashboards and the alert rules runs
against this scenario's Prometheus after bounded traffic to the app; each is valid, and
every dashboard panel query returns at least one series."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from molecule_shared import http_request

sys.path.insert(0, str(Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "tests/monitoring"))
import promql

testinfra_hosts = ["monitoring-mon"]
PROM = "http://127.0.0.1:9090"
READY_METRIC = "django_app_ready"

# Bounded traffic from the monitoring host to the app host only: at most 240 requests
# and 60 seconds. 404s and database-backed pages feed the 4xx ratio and DB panels.
TRAFFIC = r"""
import sys, time, urllib.request, urllib.error
base = sys.argv[1]
paths = ["/notes/", "/api/notes/", "/api/notes/999999/", "/health/", "/ready/", "/notes/?page=1"]
deadline = time.monotonic() + 60
sent = {}
for i in range(240):
    if time.monotonic() > deadline:
        break
    path = paths[i % len(paths)]
    try:
        status = urllib.request.urlopen(base + path, timeout=5).status
    except urllib.error.HTTPError as e:
        status = e.code
    sent[status] = sent.get(status, 0) + 1
print(sent)
"""


def query(http, expr: str) -> dict:
    resp = http(
        f"{PROM}/api/v1/query",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=urlencode({"query": expr}),
    )
    try:
        return resp.json()
    except json.JSONDecodeError:
        return {"status": "error", "error": f"HTTP {resp.status}: {resp.body[:200]}"}


@pytest.fixture(scope="module")
def app_address(host) -> str:
    content = host.file("/etc/prometheus/file_sd/django.yml").content_string
    return content.split('targets: ["', 1)[1].split('"', 1)[0]


@pytest.fixture(scope="module")
def traffic(host, app_address):
    """Send the traffic, then wait (bounded) until Prometheus has rated it."""
    out = host.run("python3 -c %s %s", TRAFFIC, f"http://{app_address}")
    assert out.rc == 0, out.stderr
    sent = eval(out.stdout.strip(), {})  # noqa: S307 - our own script's dict of ints
    assert sent.get(200, 0) >= 100 and sent.get(404, 0) >= 20, sent
    assert not any(status >= 500 for status in sent), sent

    def http(url, **kw):
        return http_request(host, url, **kw)

    expr = (
        'sum(rate(django_http_requests_total_by_view_transport_method_total{job="django"}[5m])) > 0'
        ' and sum(rate(django_db_query_duration_seconds_count{job="django"}[5m])) > 0'
    )
    deadline = time.monotonic() + 60
    while not query(http, expr).get("data", {}).get("result"):
        if time.monotonic() > deadline:
            pytest.fail("Prometheus never rated the traffic within 60s")
        time.sleep(2)
    return sent


@pytest.fixture(scope="module")
def deployed_rules(host, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / promql.RULES_NAME
    with host.sudo():
        path.write_text(host.file(f"/etc/prometheus/rules/{promql.RULES_NAME}").content_string)
    return path


def app_exposes_ready_metric(host, app_address) -> bool:
    script = (
        "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())"
    )
    body = host.check_output("python3 -c %s %s", script, f"http://{app_address}/metrics")
    return any(line.startswith(READY_METRIC) for line in body.splitlines())


def test_dashboards_have_queries():
    queries = promql.all_dashboard_queries()
    files = {q.source for q in queries}
    assert files == {"django-app.json", "hosts.json", "fleet.json"}
    assert len(queries) >= 20


def test_every_dashboard_and_rule_query_on_live_data(
    host, http, traffic, deployed_rules, app_address
):
    panels = promql.all_dashboard_queries()
    rules = promql.rule_queries(deployed_rules)
    result = promql.check_queries(panels + rules, lambda expr: query(http, expr))
    print(f"checked {result.checked} queries ({len(panels)} panel, {len(rules)} rule)")
    print(f"traffic sent (status: count): {traffic}")
    for name, count in result.series.items():
        print(f"  {count:3d} series  {name}")
    assert result.invalid == [], "invalid PromQL:\n" + "\n".join(result.invalid)
    empty = result.empty
    if not app_exposes_ready_metric(host, app_address):
        # Reported, not worked around: the readiness panels need the app's gauge.
        missing = [e for e in empty if READY_METRIC in e]
        empty = [e for e in empty if READY_METRIC not in e]
        assert empty == [], "dashboard panels without data:\n" + "\n".join(empty)
        pytest.xfail(f"the app's /metrics has no {READY_METRIC} yet: {missing}")
    assert empty == [], "dashboard panels without data:\n" + "\n".join(empty)


def test_readiness_gauge_reads_one(http, traffic):
    result = query(http, f'{READY_METRIC}{{job="django"}}')["data"]["result"]
    assert [(r["metric"]["instance"], r["value"][1]) for r in result] == [("monitoring-app", "1")]
