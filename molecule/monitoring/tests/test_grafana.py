"""The grafana role on the monitoring host, WITHOUT the Grafana binary.

SKIPPED HERE: installing and running Grafana. Its APT repository (apt.grafana.com) is
not reachable from the project's test machines, so the scenario runs the role with
grafana_install: false. What is checked is everything that does not need the binary:
the grafana user, grafana.ini from the deep-merged dict, the provisioned datasource and
dashboards, and the permissions of files holding secrets.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prom_api import API, basic_auth

testinfra_hosts = ["monitoring-mon"]
PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
ROLE_DASHBOARDS = (
    PROJECT / "collections/ansible_collections/devops/django/roles/grafana/files/dashboards"
)
DASHBOARDS_DIR = "/var/lib/grafana/dashboards/devops-django"
FAKE_SECRETS = (
    "molecule-fake-grafana-password",
    "molecule-fake-datasource-password",
    "molecule-fake-webhook-token",
    "molecule-fake-self-scrape-password",
)


def test_grafana_binary_is_not_installed_here(host):
    assert not host.package("grafana").is_installed
    pytest.skip(
        "Grafana itself is not installed or started in this scenario: its APT repository is "
        "not reachable from the test machines (grafana_install: false)."
    )


def read_ini(host) -> configparser.ConfigParser:
    with host.sudo():
        text = host.file("/etc/grafana/grafana.ini").content_string
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(text)
    return ini


def test_grafana_user_is_a_nologin_system_user(host):
    user = host.user("grafana")
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000
    assert user.group == "grafana"


def test_ini_is_defaults_deep_merged_with_grafana_ini(host):
    ini = read_ini(host)
    assert ini["server"]["http_port"] == "3001"  # from grafana_ini
    assert ini["server"]["root_url"] == "http://monitoring.example.invalid/"  # from grafana_ini
    assert ini["server"]["protocol"] == "http"  # role default kept in the same section
    assert ini["auth.anonymous"]["enabled"] == "true"
    assert ini["auth.anonymous"]["org_role"] == "Viewer"
    assert ini["analytics"]["check_for_updates"] == "false"
    assert ini["security"]["admin_user"] == "admin"
    assert ini["security"]["admin_password"] == FAKE_SECRETS[0]
    assert ini["paths"]["provisioning"] == "/etc/grafana/provisioning"


@pytest.mark.parametrize(
    "path",
    [
        "/etc/grafana/grafana.ini",
        "/etc/grafana/provisioning/datasources/devops-django.yml",
        "/etc/grafana/provisioning/dashboards/devops-django.yml",
    ],
)
def test_files_are_root_grafana_0640(host, path):
    f = host.file(path)
    assert (f.user, f.group, f.mode) == ("root", "grafana", 0o640)


def test_datasource_points_at_prometheus_with_the_dashboards_uid(host):
    with host.sudo():
        doc = yaml.safe_load(
            host.file("/etc/grafana/provisioning/datasources/devops-django.yml").content_string
        )
    (ds,) = doc["datasources"]
    assert ds["type"] == "prometheus"
    assert ds["url"] == "http://127.0.0.1:9090"
    assert ds["jsonData"]["timeInterval"] == "5s"
    assert ds["basicAuthUser"] == "grafana"
    assert ds["secureJsonData"]["basicAuthPassword"] == "molecule-fake-datasource-password"
    used = set()
    for f in ROLE_DASHBOARDS.glob("*.json"):
        dashboard = json.loads(f.read_text())
        used |= {p["datasource"]["uid"] for p in dashboard["panels"]}
        used |= {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert used == {ds["uid"]}


def test_datasource_credentials_are_prometheus_basic_auth(host, http):
    """What Grafana would send is what Prometheus' web config accepts (and nothing else)."""
    with host.sudo():
        doc = yaml.safe_load(
            host.file("/etc/grafana/provisioning/datasources/devops-django.yml").content_string
        )
    (ds,) = doc["datasources"]
    url = f"{ds['url']}/api/v1/query?query=up"
    creds = basic_auth(ds["basicAuthUser"], ds["secureJsonData"]["basicAuthPassword"])
    assert url.startswith(API.rsplit("/api/v1", 1)[0])
    assert http(url, headers=creds).status == 200
    assert http(url).status == 401


def test_dashboard_provider_and_files(host):
    with host.sudo():
        provider = yaml.safe_load(
            host.file("/etc/grafana/provisioning/dashboards/devops-django.yml").content_string
        )
        (prov,) = provider["providers"]
        assert prov["options"]["path"] == DASHBOARDS_DIR
        assert prov["folder"] == "devops.django"
        for local in sorted(ROLE_DASHBOARDS.glob("*.json")):
            remote = host.file(f"{DASHBOARDS_DIR}/{local.name}")
            assert (remote.user, remote.group, remote.mode) == ("root", "grafana", 0o640)
            assert remote.sha256sum == hashlib.sha256(local.read_bytes()).hexdigest(), local.name
    assert {p.name for p in ROLE_DASHBOARDS.glob("*.json")} == {
        "django-app.json",
        "hosts.json",
        "fleet.json",
    }


def test_no_secret_in_ansible_output_when_secrets_change():
    """Re-run converge in check+diff mode with changed (fake) secrets on the monitoring host:
    the tasks that would change print no secret, old or new."""
    changed = {
        "grafana_admin_password": "molecule-fake-grafana-password-2",
        "grafana_datasource_basic_auth_password": "molecule-fake-datasource-password-2",
        "prometheus_web_self_scrape_password": "molecule-fake-self-scrape-password-2",
        "prometheus_alertmanager_receivers": [
            {
                "name": "default",
                "webhook_configs": [{"url": "http://127.0.0.1:9/molecule-fake-webhook-token-2"}],
            }
        ],
    }
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", os.environ["MOLECULE_INVENTORY_FILE"],
            "--limit", "monitoring-mon", "--check", "--diff", "-v",
            "--tags", "prometheus_configure,grafana_configure",
            "-e", json.dumps(changed),
            str(PROJECT / "molecule/monitoring/converge.yml"),
        ],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections")},
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    recap = out.split("PLAY RECAP")[-1]
    assert "changed=0" not in recap, "nothing changed: the probe proves nothing"
    leaked = [s for s in FAKE_SECRETS if s in out]
    assert leaked == [], f"secrets in Ansible output: {leaked}"
