"""The prometheus role on the monitoring host: service, files, targets, rules, Alertmanager."""

from __future__ import annotations

import re
import time

import pytest
from molecule_shared import unit_property
from prom_api import AUTH, PROM, SELF_SCRAPE_PASSWORD, api, basic_auth

testinfra_hosts = ["monitoring-mon"]
SHIPPED_ALERTS = {
    "InstanceDown",
    "TargetMissing",
    "DjangoNotReady",
    "DjangoHigh5xxRatio",
    "DjangoHighLatencyP95",
    "HostMemorySaturated",
    "HostDiskFilling",
    "HostCpuSaturated",
}


def test_service_runs_as_nologin_user(host):
    svc = host.service("prometheus")
    assert svc.is_enabled
    assert svc.is_running
    assert host.user("prometheus").shell == "/usr/sbin/nologin"
    pid = host.check_output("systemctl show -p MainPID --value prometheus")
    assert host.check_output(f"ps -o user= -p {pid}") == "prometheus"


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("ReadWritePaths", "/var/lib/prometheus/metrics2"),
    ],
)
def test_unit_hardening(host, prop, expected):
    assert unit_property(host, "prometheus", prop) == expected


def test_flags_from_variables(host):
    cmdline = host.check_output("systemctl show -p ExecStart --value prometheus")
    assert "--storage.tsdb.retention.time=1d" in cmdline
    assert "--storage.tsdb.retention.size=512MB" in cmdline
    assert "--web.listen-address=0.0.0.0:9090" in cmdline
    assert "--web.external-url=http://prometheus.molecule.invalid:9090/" in cmdline
    assert "--web.config.file=/etc/prometheus/web.yml" in cmdline


def test_external_url_is_applied(http):
    flags = api(http, "status/flags")
    assert flags["web.external-url"] == "http://prometheus.molecule.invalid:9090/"
    # The URL has no path: the API stays at the root (no route prefix).
    assert flags["web.route-prefix"] == "/"


@pytest.mark.parametrize("path", ["/api/v1/targets", "/metrics", "/-/healthy"])
def test_basic_auth_guards_every_endpoint(http, path):
    assert http(f"{PROM}{path}").status == 401
    wrong = basic_auth("grafana", "molecule-fake-wrong-password")
    assert http(f"{PROM}{path}", headers=wrong).status == 401
    assert http(f"{PROM}{path}", headers=AUTH).status == 200
    assert (
        http(f"{PROM}{path}", headers=basic_auth("prometheus", SELF_SCRAPE_PASSWORD)).status == 200
    )


def test_web_config_holds_hashes_only(host):
    f = host.file("/etc/prometheus/web.yml")
    assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640)
    with host.sudo():
        text = f.content_string
        password_file = host.file("/etc/prometheus/self_scrape_password")
        assert (password_file.user, password_file.group, password_file.mode) == (
            "root",
            "prometheus",
            0o640,
        )
        assert password_file.content_string == SELF_SCRAPE_PASSWORD
    assert "molecule-fake" not in text
    assert text.count("$2b$10$") == 2


def test_config_files_are_private_and_valid(host):
    for path in (
        "/etc/prometheus/prometheus.yml",
        "/etc/prometheus/rules/devops_django.rules.yml",
        "/etc/prometheus/file_sd/django.yml",
        "/etc/prometheus/alertmanager.yml",
        "/etc/prometheus/rules/molecule.rules.yml",
    ):
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640), path
    with host.sudo():
        host.run_expect([0], "promtool check config /etc/prometheus/prometheus.yml")


def test_file_sd_names_targets_by_inventory_host(host):
    content = host.file("/etc/prometheus/file_sd/node.yml").content_string
    assert re.search(r'targets: \["[0-9.]+:9100"\]', content)
    assert 'instance: "monitoring-app"' in content


def test_every_target_is_up(http):
    deadline = time.monotonic() + 60
    while True:
        targets = api(http, "targets", state="active")["activeTargets"]
        found = {(t["labels"]["job"], t["labels"]["instance"]): t for t in targets}
        if all(t["health"] == "up" for t in targets) and len(found) == 3:
            break
        if time.monotonic() > deadline:
            states = [(k, t["health"], t["lastError"]) for k, t in found.items()]
            pytest.fail(f"targets not all up: {states}")
        time.sleep(2)
    assert set(found) == {
        ("prometheus", "monitoring-mon"),
        ("node", "monitoring-app"),
        ("django", "monitoring-app"),
    }
    assert found[("django", "monitoring-app")]["scrapeUrl"].endswith(":8000/metrics")
    # The self-scrape goes through basic auth with the self-scrape password.
    assert found[("prometheus", "monitoring-mon")]["scrapeUrl"] == "http://127.0.0.1:9090/metrics"


def test_shipped_rules_are_loaded_and_nothing_fires(http):
    groups = api(http, "rules")["groups"]
    alerts = {r["name"]: r for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert set(alerts) == SHIPPED_ALERTS
    assert {g["file"] for g in groups} == {
        "/etc/prometheus/rules/devops_django.rules.yml",
        "/etc/prometheus/rules/molecule.rules.yml",
    }
    assert all(r["health"] == "ok" for r in alerts.values()), alerts
    firing = [a for a in api(http, "alerts")["alerts"] if a["state"] == "firing"]
    assert firing == []


def test_extra_rule_file_is_loaded_and_evaluated(http):
    deadline = time.monotonic() + 30
    while not api(http, "query", query="molecule:up:sum")["result"]:
        assert time.monotonic() < deadline, "the extra recording rule never produced a sample"
        time.sleep(2)


def test_external_labels_applied(http):
    assert api(http, "status/config")["yaml"].count("environment: molecule") == 1


def test_alertmanager_receives_from_prometheus(host, http):
    assert host.service("prometheus-alertmanager").is_running
    assert http("http://127.0.0.1:9093/-/healthy").status == 200
    active = api(http, "alertmanagers")["activeAlertmanagers"]
    assert [a["url"] for a in active] == ["http://127.0.0.1:9093/api/v2/alerts"]


def test_reload_is_a_hup_not_a_restart(host, http):
    """The role's reload handler is `systemctl reload` (SIGHUP): same process, config re-read."""
    pid = host.check_output("systemctl show -p MainPID --value prometheus")
    query = 'prometheus_config_last_reload_success_timestamp_seconds{instance="monitoring-mon"}'
    before = float(api(http, "query", query=query)["result"][0]["value"][1])
    time.sleep(1.1)
    with host.sudo():
        # By hand; the role's own reload handler is proven by test_reconverge.py.
        host.run_expect([0], "systemctl reload prometheus")
    deadline = time.monotonic() + 30
    after = before
    while after <= before and time.monotonic() < deadline:
        time.sleep(1)
        result = api(http, "query", query=query)["result"]
        after = float(result[0]["value"][1]) if result else before
    assert after > before, "config was not reloaded"
    assert host.check_output("systemctl show -p MainPID --value prometheus") == pid
    ok = api(http, "query", query="prometheus_config_last_reload_successful")["result"]
    assert ok[0]["value"][1] == "1"
