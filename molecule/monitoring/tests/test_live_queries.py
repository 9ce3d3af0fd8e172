"""Proof on live data: every PromQL expression of the dashboards and the alert rules runs
against this scenario's Prometheus after bounded traffic to the app; each is valid, and
every dashboard panel query returns at least one series."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from molecule_shared import http_request
from prom_api import query

sys.path.insert(0, str(Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "tests/monitoring"))
import promql

testinfra_hosts = ["monitoring-mon"]
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


def test_dashboards_have_queries():
    queries = promql.all_dashboard_queries()
    files = {q.source for q in queries}
    assert files == {"django-app.json", "hosts.json", "fleet.json"}
    assert len(queries) >= 20


def test_every_dashboard_and_rule_query_on_live_data(http, traffic, deployed_rules):
    panels = promql.all_dashboard_queries()
    rules = promql.rule_queries(deployed_rules)
    result = promql.check_queries(panels + rules, lambda expr: query(http, expr))
    print(f"checked {result.checked} queries ({len(panels)} panel, {len(rules)} rule)")
    print(f"traffic sent (status: count): {traffic}")
    for name, count in result.series.items():
        print(f"  {count:3d} series  {name}")
    assert result.invalid == [], "invalid PromQL:\n" + "\n".join(result.invalid)
    assert result.empty == [], "dashboard panels without data:\n" + "\n".join(result.empty)


def test_readiness_gauge_reads_one(http, traffic):
    result = query(http, f'{READY_METRIC}{{job="django"}}')["data"]["result"]
    assert [(r["metric"]["instance"], r["value"][1]) for r in result] == [("monitoring-app", "1")]


def test_instances_up_panel_counts_the_app_host(http, traffic):
    """`or vector(0)` keeps the stat panel from showing "No data"; it must not hide the count."""
    fleet = promql.dashboard_queries(promql.DASHBOARDS_DIR / "fleet.json")
    (panel,) = [q for q in fleet if q.where.startswith("panel 'Instances up'")]
    result = query(http, panel.expr)["data"]["result"]
    assert [r["value"][1] for r in result] == ["1"]
