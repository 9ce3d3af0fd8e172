"""The prometheus and grafana roles refuse bad input before any change, naming the variable.

One ansible-playbook run on the controller: every inventory host is one case
(connection local, check mode) with its bad values as host vars. For each case: the run
fails for that host at the argument spec or a preflight assert; the failure message names
the variable and no other variable of the role (except ones it must mention); no secret
from the input is printed; no install/configure task ran and nothing changed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from promql import REPO, ROLES

PLAYBOOK = Path(__file__).resolve().parent / "playbooks/bad_input.yml"
FAKE = "molecule-fake-bad-input-password"  # must never be printed
SHORT_FAKE = "fakepw7"  # a too-short password, must never be printed either
HASH = "$2b$10$xPprzPHgyWmu5wSdi2w5XecDNgbmX1MIz6ChWMBqY4vyzsJpFYO2q"  # bcrypt of a fake password
GRAFANA_OK = {"grafana_admin_password": FAKE, "grafana_install": False}


def case(role, bad, expect, allowed=()):
    return {"role": role, "vars": bad, "expect": list(expect), "allowed": set(allowed)}


PROM, GRAF = "prometheus", "grafana"
NOT_THERE = "/nonexistent/grafana_11.2.0_amd64.deb"
DEB = {**GRAFANA_OK, "grafana_install": True, "grafana_install_method": "deb"}
EC2 = {"prometheus_discovery": "ec2"}
NO_UID = str(REPO / "tests/monitoring/fixtures/dashboard-without-uid.json")
NOT_JSON = str(REPO / "tests/monitoring/rules/app.test.yml")

CASES = {
    # prometheus
    "p-listen-address": case(
        PROM, {"prometheus_listen_address": "9090"}, ["prometheus_listen_address", "host:port"]
    ),
    "p-listen-port-range": case(
        PROM, {"prometheus_listen_address": "0.0.0.0:70000"}, ["prometheus_listen_address"]
    ),
    "p-alertmanager-listen": case(
        PROM,
        {"prometheus_alertmanager_listen_address": "localhost"},
        ["prometheus_alertmanager_listen_address"],
    ),
    "p-retention-time": case(
        PROM, {"prometheus_retention_time": "15days"}, ["prometheus_retention_time", "duration"]
    ),
    "p-scrape-interval": case(
        PROM, {"prometheus_scrape_interval": "30"}, ["prometheus_scrape_interval"]
    ),
    "p-scrape-timeout": case(
        PROM, {"prometheus_scrape_timeout": "10 s"}, ["prometheus_scrape_timeout"]
    ),
    "p-evaluation-interval": case(
        PROM, {"prometheus_evaluation_interval": "1min"}, ["prometheus_evaluation_interval"]
    ),
    "p-ec2-refresh-interval": case(
        PROM, {"prometheus_ec2_refresh_interval": "soon"}, ["prometheus_ec2_refresh_interval"]
    ),
    "p-retention-size": case(
        PROM, {"prometheus_retention_size": "10G"}, ["prometheus_retention_size"]
    ),
    "p-ratio-range": case(
        PROM, {"prometheus_alert_cpu_ratio": 1.5}, ["prometheus_alert_cpu_ratio", "between 0 and 1"]
    ),
    "p-ratio-type": case(
        PROM,
        {"prometheus_alert_5xx_ratio": "five percent"},
        ["prometheus_alert_5xx_ratio", "float"],
    ),
    "p-discovery-choice": case(
        PROM, {"prometheus_discovery": "consul"}, ["prometheus_discovery", "consul"]
    ),
    "p-sha256": case(
        PROM,
        {"prometheus_install_method": "binary", "prometheus_binary_sha256": "abc123"},
        ["prometheus_binary_sha256", "SHA-256"],
        allowed=["prometheus_install_method"],
    ),
    "p-binary-without-facts": case(
        PROM,
        {"prometheus_install_method": "binary", "prometheus_binary_sha256": "a" * 64},
        ["prometheus_binary_url", "unknown architecture", "gather facts"],
    ),
    "p-bcrypt": case(
        PROM,
        {
            "prometheus_web_basic_auth_users": {"admin": FAKE},
            "prometheus_web_self_scrape_password": FAKE,
        },
        ["prometheus_web_basic_auth_users", "bcrypt", "admin"],
    ),
    "p-self-scrape-password": case(
        PROM,
        {"prometheus_web_basic_auth_users": {"admin": HASH}},
        ["prometheus_web_self_scrape_password"],
    ),
    "p-tls-key-missing": case(
        PROM,
        {"prometheus_web_tls_cert_file": "/etc/ssl/prometheus.crt"},
        ["prometheus_web_tls_key_file"],
        allowed=["prometheus_web_tls_cert_file"],
    ),
    "p-tls-cert-missing": case(
        PROM,
        {"prometheus_web_tls_key_file": "/etc/ssl/prometheus.key"},
        ["prometheus_web_tls_cert_file"],
        allowed=["prometheus_web_tls_key_file"],
    ),
    "p-ec2-project": case(
        PROM,
        {**EC2, "prometheus_ec2_environment": "dev"},
        ["prometheus_ec2_project", "Project"],
        allowed=["prometheus_discovery"],
    ),
    "p-ec2-environment": case(
        PROM,
        {**EC2, "prometheus_ec2_project": "notes"},
        ["prometheus_ec2_environment", "Environment"],
        allowed=["prometheus_discovery"],
    ),
    "p-job-without-name": case(
        PROM,
        {
            "prometheus_extra_scrape_configs": [
                {"static_configs": [{"targets": ["192.0.2.1:9187"]}]}
            ]
        },
        ["prometheus_extra_scrape_configs", "job_name"],
    ),
    "p-job-duplicate": case(
        PROM,
        {"prometheus_extra_scrape_configs": [{"job_name": "node", "static_configs": []}]},
        ["prometheus_extra_scrape_configs", "duplicated: node"],
    ),
    # grafana
    "g-password-missing": case(
        GRAF, {"grafana_install": False}, ["grafana_admin_password", "required"]
    ),
    "g-password-short": case(
        GRAF,
        {"grafana_install": False, "grafana_admin_password": SHORT_FAKE},
        ["grafana_admin_password", "8 characters"],
    ),
    "g-deb-missing": case(
        GRAF,
        {**DEB, "grafana_deb_file": NOT_THERE},
        ["grafana_deb_file", NOT_THERE],
        allowed=["grafana_install_method"],
    ),
    "g-deb-not-a-deb": case(
        GRAF,
        {**DEB, "grafana_deb_file": str(PLAYBOOK)},
        ["grafana_deb_file", ".deb"],
        allowed=["grafana_install_method"],
    ),
    "g-repo-key-file": case(
        GRAF,
        {**GRAFANA_OK, "grafana_repo_key_file": "/nonexistent/grafana.asc"},
        ["grafana_repo_key_file", "/nonexistent/grafana.asc"],
    ),
    "g-ini-nested": case(
        GRAF, {**GRAFANA_OK, "grafana_ini": {"server": {"tls": {"cert": "x"}}}}, ["grafana_ini"]
    ),
    "g-ini-list": case(
        GRAF, {**GRAFANA_OK, "grafana_ini": {"server": ["http_port", 3000]}}, ["grafana_ini"]
    ),
    "g-ini-not-dict": case(
        GRAF, {**GRAFANA_OK, "grafana_ini": "server.http_port=3000"}, ["grafana_ini", "dict"]
    ),
    "g-datasource-password": case(
        GRAF,
        {**GRAFANA_OK, "grafana_datasource_basic_auth_user": "grafana"},
        ["grafana_datasource_basic_auth_password"],
        allowed=["grafana_datasource_basic_auth_user"],
    ),
    "g-extra-dashboard-not-json": case(
        GRAF,
        {**GRAFANA_OK, "grafana_dashboards_extra_files": [NOT_JSON]},
        ["grafana_dashboards_extra_files", "app.test.yml"],
    ),
    "g-extra-dashboard-without-uid": case(
        GRAF,
        {**GRAFANA_OK, "grafana_dashboards_extra_files": [NO_UID]},
        ["grafana_dashboards_extra_files", "uid"],
    ),
}


def role_variables(role: str) -> set[str]:
    spec = yaml.safe_load((ROLES / role / "meta/argument_specs.yml").read_text())
    return set(spec["argument_specs"]["main"]["options"])


def task_names(role: str, *files: str) -> set[str]:
    names = set()
    for name in files:
        for task in yaml.safe_load((ROLES / role / "tasks" / name).read_text()):
            names.add(task["name"])
            names |= {t["name"] for t in task.get("block", []) + task.get("always", [])}
    return names


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("bad-input")
    hosts = {
        name: {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "bad_input_role": c["role"],
            **c["vars"],
        }
        for name, c in CASES.items()
    }
    inventory = tmp / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
         "--check", "--forks", "8", str(PLAYBOOK)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
             "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
             "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
    )  # fmt: skip
    assert proc.returncode != 0, "every case must fail"
    doc = json.loads(proc.stdout)
    # The JSON callback prints every task result in full: more than the default callback.
    return {"doc": doc, "raw": proc.stdout + proc.stderr}


def failure_messages(doc: dict, host: str) -> tuple[list[str], list[str]]:
    """(messages of the host's failed results, names of every task that ran for it)."""
    messages, ran = [], []
    for task in doc["plays"][0]["tasks"]:
        result = task["hosts"].get(host)
        if result is None:
            continue
        ran.append(task["task"]["name"].split(" : ")[-1])
        if result.get("failed"):
            items = result.get("results") or [result]
            messages += [str(r.get("msg", "")) for r in items if r.get("failed")]
    return messages, ran


def test_secrets_never_printed(run):
    assert FAKE not in run["raw"]
    assert SHORT_FAKE not in run["raw"]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_naming_the_variable(run, name):
    c = CASES[name]
    stats = run["doc"]["stats"][name]
    assert stats["failures"] == 1 and stats["changed"] == 0, stats
    messages, ran = failure_messages(run["doc"], name)
    assert len(messages) == 1, messages
    (message,) = messages
    for expected in c["expect"]:
        assert expected in message, f"{expected!r} not in {message!r}"
    unrelated = role_variables(c["role"]) - set(c["expect"]) - c["allowed"]
    named = sorted(v for v in unrelated if re.search(rf"\b{v}\b", message))
    assert named == [], f"message names unrelated variables {named}: {message!r}"
    # Stopped before installing or configuring anything.
    later = task_names(c["role"], "install.yml", "configure.yml", "run.yml")
    assert not later & set(ran), later & set(ran)
