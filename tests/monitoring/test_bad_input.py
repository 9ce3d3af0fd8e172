"""The prometheus and grafana roles refuse bad input before any change, naming the variable.

One ansible-playbook run on the controller (tests/badinput.py run_as_hosts): every inventory
host is one case (connection local, check mode) with its bad values as host vars. For each
case: the run fails for that host at the argument spec or a preflight assert; the failure
message names the variable and no other variable of the role (except ones it must mention);
no secret from the input is printed; no install/configure task ran and nothing changed.
"""

from __future__ import annotations

import os
import sys

import pytest
from badinput import (
    APPLY_ROLE,
    Result,
    assert_refused,
    case,
    role_variables,
    run_as_hosts,
    short_name,
    task_names,
)
from promql import REPO

FAKE = "molecule-fake-bad-input-password"  # must never be printed
SHORT_FAKE = "fakepw7"  # a too-short password, must never be printed either
HASH = "$2b$10$xPprzPHgyWmu5wSdi2w5XecDNgbmX1MIz6ChWMBqY4vyzsJpFYO2q"  # bcrypt of a fake password
GRAFANA_OK = {"grafana_admin_password": FAKE, "grafana_install": False}


PROM, GRAF = "prometheus", "grafana"
NOT_THERE = "/nonexistent/grafana_11.2.0_amd64.deb"
DEB = {**GRAFANA_OK, "grafana_install": True, "grafana_install_method": "deb"}
EC2 = {"prometheus_discovery": "ec2"}
NO_UID = str(REPO / "tests/monitoring/fixtures/dashboard-without-uid.json")
NOT_JSON = str(REPO / "tests/monitoring/rules/app.test.yml")

CASES = {
    # prometheus
    "p-old-name": case(
        PROM,
        "prometheus_web_listen_address",
        {"prometheus_listen_address": "0.0.0.0:9090", "prometheus_retention_time": "30d"},
        "prometheus_listen_address is now prometheus_web_listen_address",
        "prometheus_retention_time is now prometheus_storage_retention",
        allowed=["prometheus_storage_retention"],
    ),
    "p-listen-address": case(
        PROM,
        "prometheus_web_listen_address",
        {"prometheus_web_listen_address": "9090"},
        "host:port",
    ),
    "p-listen-port-range": case(
        PROM, "prometheus_web_listen_address", {"prometheus_web_listen_address": "0.0.0.0:70000"}
    ),
    "p-alertmanager-listen": case(
        PROM,
        "prometheus_alertmanager_listen_address",
        {"prometheus_alertmanager_listen_address": "localhost"},
    ),
    "p-retention-time": case(
        PROM, "prometheus_storage_retention", {"prometheus_storage_retention": "15days"}, "duration"
    ),
    "p-scrape-interval": case(
        PROM, "prometheus_scrape_interval", {"prometheus_scrape_interval": "30"}
    ),
    "p-scrape-timeout": case(
        PROM, "prometheus_scrape_timeout", {"prometheus_scrape_timeout": "10 s"}
    ),
    "p-evaluation-interval": case(
        PROM, "prometheus_evaluation_interval", {"prometheus_evaluation_interval": "1min"}
    ),
    "p-ec2-refresh-interval": case(
        PROM, "prometheus_ec2_refresh_interval", {"prometheus_ec2_refresh_interval": "soon"}
    ),
    "p-retention-size": case(
        PROM, "prometheus_storage_retention_size", {"prometheus_storage_retention_size": "10G"}
    ),
    "p-ratio-range": case(
        PROM, "prometheus_alert_cpu_ratio", {"prometheus_alert_cpu_ratio": 1.5}, "between 0 and 1"
    ),
    "p-ratio-type": case(
        PROM, "prometheus_alert_5xx_ratio", {"prometheus_alert_5xx_ratio": "five percent"}, "float"
    ),
    "p-discovery-choice": case(
        PROM, "prometheus_discovery", {"prometheus_discovery": "consul"}, "consul"
    ),
    "p-sha256": case(
        PROM,
        "prometheus_binary_sha256",
        {"prometheus_install_method": "binary", "prometheus_binary_sha256": "abc123"},
        "SHA-256",
        allowed=["prometheus_install_method"],
    ),
    "p-binary-without-facts": case(
        PROM,
        "prometheus_binary_url",
        {"prometheus_install_method": "binary", "prometheus_binary_sha256": "a" * 64},
        "unknown architecture",
        "gather facts",
    ),
    "p-bcrypt": case(
        PROM,
        "prometheus_web_basic_auth_users",
        {
            "prometheus_web_basic_auth_users": {"admin": FAKE},
            "prometheus_web_self_scrape_password": FAKE,
        },
        "bcrypt",
        "admin",
    ),
    "p-self-scrape-password": case(
        PROM,
        "prometheus_web_self_scrape_password",
        {"prometheus_web_basic_auth_users": {"admin": HASH}},
    ),
    "p-tls-key-missing": case(
        PROM,
        "prometheus_web_tls_key_file",
        {"prometheus_web_tls_cert_file": "/etc/ssl/prometheus.crt"},
        allowed=["prometheus_web_tls_cert_file"],
    ),
    "p-tls-cert-missing": case(
        PROM,
        "prometheus_web_tls_cert_file",
        {"prometheus_web_tls_key_file": "/etc/ssl/prometheus.key"},
        allowed=["prometheus_web_tls_key_file"],
    ),
    "p-ec2-project": case(
        PROM,
        "prometheus_ec2_project",
        {**EC2, "prometheus_ec2_environment": "dev"},
        "Project",
        allowed=["prometheus_discovery"],
    ),
    "p-ec2-environment": case(
        PROM,
        "prometheus_ec2_environment",
        {**EC2, "prometheus_ec2_project": "notes"},
        "Environment",
        allowed=["prometheus_discovery"],
    ),
    "p-job-without-name": case(
        PROM,
        "prometheus_extra_scrape_configs",
        {
            "prometheus_extra_scrape_configs": [
                {"static_configs": [{"targets": ["192.0.2.1:9187"]}]}
            ]
        },
        "job_name",
    ),
    "p-job-duplicate": case(
        PROM,
        "prometheus_extra_scrape_configs",
        {"prometheus_extra_scrape_configs": [{"job_name": "node", "static_configs": []}]},
        "duplicated: node",
    ),
    # grafana
    "g-old-name": case(
        GRAF,
        "grafana_manage_repo",
        {**GRAFANA_OK, "grafana_repo_manage": False},
        "grafana_repo_manage is now grafana_manage_repo",
    ),
    "g-version-empty": case(
        GRAF, "grafana_version", {**GRAFANA_OK, "grafana_version": ""}, '"latest"'
    ),
    "g-password-missing": case(
        GRAF, "grafana_admin_password", {"grafana_install": False}, "required"
    ),
    "g-password-short": case(
        GRAF,
        "grafana_admin_password",
        {"grafana_install": False, "grafana_admin_password": SHORT_FAKE},
        "8 characters",
    ),
    "g-deb-missing": case(
        GRAF,
        "grafana_deb_file",
        {**DEB, "grafana_deb_file": NOT_THERE},
        NOT_THERE,
        allowed=["grafana_install_method"],
    ),
    "g-deb-not-a-deb": case(
        GRAF,
        "grafana_deb_file",
        {**DEB, "grafana_deb_file": str(APPLY_ROLE)},
        ".deb",
        allowed=["grafana_install_method"],
    ),
    "g-apt-key-file": case(
        GRAF,
        "grafana_apt_key_file",
        {**GRAFANA_OK, "grafana_apt_key_file": "/nonexistent/grafana.asc"},
        "/nonexistent/grafana.asc",
    ),
    "g-ini-nested": case(
        GRAF, "grafana_ini", {**GRAFANA_OK, "grafana_ini": {"server": {"tls": {"cert": "x"}}}}
    ),
    "g-ini-list": case(
        GRAF, "grafana_ini", {**GRAFANA_OK, "grafana_ini": {"server": ["http_port", 3000]}}
    ),
    "g-ini-not-dict": case(
        GRAF, "grafana_ini", {**GRAFANA_OK, "grafana_ini": "server.http_port=3000"}, "dict"
    ),
    "g-datasource-password": case(
        GRAF,
        "grafana_datasource_basic_auth_password",
        {**GRAFANA_OK, "grafana_datasource_basic_auth_user": "grafana"},
        allowed=["grafana_datasource_basic_auth_user"],
    ),
    "g-extra-dashboard-not-json": case(
        GRAF,
        "grafana_dashboards_extra_files",
        {**GRAFANA_OK, "grafana_dashboards_extra_files": [NOT_JSON]},
        "app.test.yml",
    ),
    "g-extra-dashboard-without-uid": case(
        GRAF,
        "grafana_dashboards_extra_files",
        {**GRAFANA_OK, "grafana_dashboards_extra_files": [NO_UID]},
        "uid",
    ),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Result]:
    host_vars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    results = run_as_hosts(CASES, tmp_path_factory.mktemp("bad-input"), host_vars, env=env)
    assert next(iter(results.values())).returncode != 0, "every case must fail"
    return results


def test_secrets_never_printed(results):
    raw = next(iter(results.values())).raw  # one run: every task result in full (JSON callback)
    assert FAKE not in raw
    assert SHORT_FAKE not in raw


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_naming_the_variable(results, name):
    bad = CASES[name]
    # Stopped before installing or configuring anything.
    later = task_names(bad.target, "install.yml", "configure.yml", "run.yml")
    assert_refused(
        results[name],
        bad,
        variables=role_variables(bad.target),
        never_run=lambda task: short_name(task) in later,
        one_message=True,
    )
