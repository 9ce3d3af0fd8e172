"""The app host the monitoring scenario watches: the app and node_exporter answer."""

from __future__ import annotations

import re

testinfra_hosts = ["monitoring-app"]


def test_app_answers_health_and_ready(http):
    assert http("http://127.0.0.1:8000/health/").status == 200
    assert http("http://127.0.0.1:8000/ready/").status == 200


def test_app_exposes_django_metrics(http):
    body = http("http://127.0.0.1:8000/metrics").body
    assert re.search(r"^django_http_requests_total_by_view_transport_method_total\{", body, re.M)


def test_node_exporter_answers(http):
    body = http("http://127.0.0.1:9100/metrics").body
    assert re.search(r"^node_cpu_seconds_total\{", body, re.M)
