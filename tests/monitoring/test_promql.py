"""The PromQL extractor and checker (tests/monitoring/promql.py) and the dashboards' shape."""

from __future__ import annotations

import json

import promql
import pytest


def test_every_dashboard_panel_has_a_query_on_the_provisioned_datasource():
    files = sorted(promql.DASHBOARDS_DIR.glob("*.json"))
    assert [f.name for f in files] == ["django-app.json", "fleet.json", "hosts.json"]
    for f in files:
        dashboard = json.loads(f.read_text())
        assert dashboard["uid"].startswith("devops-django-")
        for panel in dashboard["panels"]:
            assert panel["targets"], f"{f.name}: panel {panel['title']!r} has no query"
            assert panel["datasource"]["uid"] == "devops-django-prometheus"


def test_dashboards_cover_the_issue_panels():
    titles = {
        f.name: {p["title"] for p in json.loads(f.read_text())["panels"]}
        for f in promql.DASHBOARDS_DIR.glob("*.json")
    }
    assert {
        "Request rate",
        "Latency p50 / p95 / p99",
        "4xx / 5xx ratio",
        "DB query time",
        "Readiness",
    } <= titles["django-app.json"]
    assert {"CPU busy", "Memory used", "Disk used", "Network received", "Network sent"} <= titles[
        "hosts.json"
    ]
    assert {"Instances up", "Request rate per instance"} <= titles["fleet.json"]


def test_extractor_replaces_grafana_variables_and_walks_rows(tmp_path):
    dashboard = {
        "panels": [
            {"title": "A", "targets": [{"refId": "A", "expr": "rate(x[$__rate_interval])"}]},
            {
                "title": "row",
                "type": "row",
                "panels": [{"title": "B", "targets": [{"refId": "Z", "expr": "up"}]}],
            },
        ],
        "templating": {
            "list": [{"name": "inst", "type": "query", "query": "label_values(up, instance)"}]
        },
    }
    path = tmp_path / "d.json"
    path.write_text(json.dumps(dashboard))
    queries = promql.dashboard_queries(path)
    assert [(q.where, q.expr) for q in queries] == [
        ("panel 'A' A", "rate(x[5m])"),
        ("panel 'B' Z", "up"),
        ("variable 'inst'", "up"),
    ]


def test_extractor_refuses_unknown_variables():
    with pytest.raises(ValueError, match=r"\$instance"):
        promql.substitute_grafana_variables('up{instance="$instance"}')


def test_rule_extraction_finds_every_shipped_alert(tmp_path):
    names = [q.where for q in promql.rule_queries(promql.render_rules(tmp_path))]
    assert len(names) == 8
    assert all(n.startswith("alert ") for n in names)


def test_checker_reports_invalid_and_empty_panel_queries():
    queries = [
        promql.Query("d.json", "panel 'ok'", "up", "panel"),
        promql.Query("d.json", "panel 'empty'", "nothing", "panel"),
        promql.Query("d.json", "panel 'bad'", "sum(", "panel"),
        promql.Query("r.yml", "alert Quiet", "absent(up)", "rule"),
    ]
    answers = {
        "up": {"status": "success", "data": {"resultType": "vector", "result": [{}, {}]}},
        "nothing": {"status": "success", "data": {"resultType": "vector", "result": []}},
        "sum(": {"status": "error", "error": "parse error"},
        "absent(up)": {"status": "success", "data": {"resultType": "vector", "result": []}},
    }
    result = promql.check_queries(queries, answers.__getitem__)
    assert result.checked == 4
    assert not result.ok
    assert [e.split(":")[1].strip() for e in result.invalid] == ["panel 'bad'"]
    assert len(result.empty) == 1 and "panel 'empty'" in result.empty[0]
    assert result.series["d.json: panel 'ok'"] == 2
