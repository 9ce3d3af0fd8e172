"""Behaviour of the node_exporter role on a package host and a binary host."""

from __future__ import annotations

import base64
import re
import time

import pytest
from molecule_shared import exposure_score, unit_property

SERVICE = "node_exporter"
METRICS = "http://127.0.0.1:9100/metrics"
# Obviously fake credential, matching the bcrypt hash in converge.yml.
AUTH = {"Authorization": "Basic " + base64.b64encode(b"prometheus:molecule-fake-password").decode()}


def is_binary_host(host) -> bool:
    return "binary" in host.ansible.get_variables()["group_names"]


def auth_for(host) -> dict[str, str]:
    return AUTH if is_binary_host(host) else {}


def test_service_enabled_and_running(host):
    svc = host.service(SERVICE)
    assert svc.is_enabled
    assert svc.is_running


def test_runs_as_nologin_system_user(host):
    user = host.user("node-exp")
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000
    pid = host.check_output(f"systemctl show -p MainPID --value {SERVICE}")
    assert host.check_output(f"ps -o user= -p {pid}") == "node-exp"


def test_package_unit_is_not_running_beside_ours(host):
    if is_binary_host(host):
        pytest.skip("the package is installed only on the package host")
    assert not host.service("prometheus-node-exporter").is_running


def test_port_answers_with_node_metrics(host, http):
    assert host.socket("tcp://0.0.0.0:9100").is_listening
    resp = http(METRICS, headers=auth_for(host))
    assert resp.status == 200
    assert re.search(r"^node_load1 ", resp.body, re.M)
    assert re.search(r"^node_systemd_unit_state\{", resp.body, re.M), "systemd collector enabled"
    assert not re.search(r"^node_wifi_", resp.body, re.M), "wifi collector disabled"


def test_basic_auth_is_enforced_on_binary_host(host, http):
    if not is_binary_host(host):
        pytest.skip("basic auth is configured on the binary host only")
    assert http(METRICS).status == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"prometheus:wrong").decode()}
    assert http(METRICS, headers=wrong).status == 401
    assert http(METRICS, headers=AUTH).status == 200
    web = host.file("/etc/node_exporter/web.yml")
    assert web.user == "root"
    assert web.group == "node-exp"
    assert web.mode == 0o640
    assert "molecule-fake-password" not in web.content_string


def test_textfile_collector_exports_prom_files(host, http):
    path = "/var/lib/node_exporter/textfile/molecule_probe.prom"
    with host.sudo():
        write = f"printf 'molecule_probe_value 42\\n' > {path}.tmp && mv {path}.tmp {path}"
        host.run_expect([0], write)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            body = http(METRICS, headers=auth_for(host)).body
            if re.search(r"^molecule_probe_value 42$", body, re.M):
                break
            time.sleep(0.5)
        else:
            pytest.fail("metric from the .prom file never appeared")
    finally:
        host.run(f"rm -f {path}")


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("CapabilityBoundingSet", ""),
        ("User", "node-exp"),
    ],
)
def test_unit_hardening(host, prop, expected):
    assert unit_property(host, SERVICE, prop) == expected


def test_exposure_score_is_low(host):
    score, line = exposure_score(host, SERVICE)
    assert score <= 2.5, line
