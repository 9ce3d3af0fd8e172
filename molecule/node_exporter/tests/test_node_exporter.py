"""Behaviour of the node_exporter role on a package host and a binary host.

The hosts differ on purpose (see converge.yml), so settings are proven by contrast:
a collector the package host disables is present on the binary host, and so on.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import testinfra
from molecule_shared import exposure_score, unit_property

SERVICE = "node_exporter"
UNIT_FILE = f"/etc/systemd/system/{SERVICE}.service"
CERT = "/etc/ssl/node_exporter/cert.pem"
# Obviously fake credential, matching the bcrypt hash in converge.yml.
AUTH = {"Authorization": "Basic " + base64.b64encode(b"prometheus:molecule-fake-password").decode()}
PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])

# Runs inside the host: one GET, TLS verified against the given CA file; prints status+body.
_FETCH = r"""
import json, ssl, sys, urllib.request, urllib.error
url, headers, cafile = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] or None
ctx = ssl.create_default_context(cafile=cafile) if cafile else None
try:
    req = urllib.request.Request(url, headers=headers)
    resp = urllib.request.urlopen(req, timeout=10, context=ctx)
    status, body = resp.status, resp.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
except Exception as e:
    status, body = 0, repr(e).encode()
print(json.dumps({"status": status, "body": body.decode("utf-8", "replace")}))
"""


def is_binary_host(host) -> bool:
    return "binary" in host.ansible.get_variables()["group_names"]


def fetch(host, url: str, headers: dict | None = None, cafile: str = "") -> tuple[int, str]:
    cmd = host.run("python3 -c %s %s %s %s", _FETCH, url, json.dumps(headers or {}), cafile)
    assert cmd.rc == 0, cmd.stderr
    out = json.loads(cmd.stdout)
    return out["status"], out["body"]


def scrape(host) -> str:
    """The metrics as Prometheus would scrape this host (TLS + basic auth on the binary host)."""
    if is_binary_host(host):
        status, body = fetch(host, "https://127.0.0.1:9110/metrics", AUTH, CERT)
    else:
        status, body = fetch(host, "http://127.0.0.1:9100/metrics")
    assert status == 200, body[:500]
    return body


def collector_ran(body: str, name: str) -> bool:
    return (
        re.search(rf'^node_scrape_collector_success\{{collector="{name}"\}} 1$', body, re.M)
        is not None
    )


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


def test_listens_only_on_the_configured_address(host):
    # No `ss -p` here (containers lack CAP_SYS_PTRACE): nothing else listens on these ports.
    lines = host.check_output("ss -Htln").splitlines()
    ours = {line.split()[3] for line in lines if re.search(r":91(00|10)$", line.split()[3])}
    if is_binary_host(host):
        assert ours == {"127.0.0.1:9110"}, lines
    else:
        # Go listens dual-stack for 0.0.0.0: ss shows the wildcard as '*'.
        assert ours in ({"0.0.0.0:9100"}, {"*:9100"}), lines


def test_port_answers_with_node_metrics(host):
    body = scrape(host)
    assert re.search(r"^node_load1 ", body, re.M)
    assert collector_ran(body, "cpu")
    assert re.search(r"^node_systemd_unit_state\{", body, re.M), "systemd collector runs (D-Bus)"


def test_disabled_default_collector_is_off(host):
    # entropy is on by default in this build: present on the binary host, off on the package host.
    assert ('collector="entropy"' in scrape(host)) == is_binary_host(host)


def test_enabled_collector_that_is_off_by_default_runs(host):
    # processes is off by default: enabled on the package host only.
    body = scrape(host)
    assert collector_ran(body, "processes") != is_binary_host(host)
    assert bool(re.search(r"^node_processes_threads ", body, re.M)) != is_binary_host(host)


def test_filesystem_mount_points_exclude(host):
    body = scrape(host)
    mounts = set(re.findall(r'^node_filesystem_size_bytes\{[^}]*mountpoint="([^"]+)"', body, re.M))
    # Docker's bind mount: reported on both hosts (the root is overlay, excluded by fs type).
    assert "/etc/hosts" in mounts, mounts
    # The package host excludes ^/(dev|proc|sys|run|home|root)($|/); the binary host keeps
    # /home, the tmpfs that ProtectHome=yes mounts in the service's view.
    assert ("/home" in mounts) == is_binary_host(host), mounts


def test_tls_and_basic_auth_on_binary_host(host):
    if not is_binary_host(host):
        pytest.skip("TLS and basic auth are configured on the binary host only")
    url = "https://127.0.0.1:9110/metrics"
    assert fetch(host, url, cafile=CERT)[0] == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"prometheus:wrong").decode()}
    assert fetch(host, url, wrong, CERT)[0] == 401
    status, body = fetch(host, url, AUTH, CERT)
    assert status == 200
    assert re.search(r"^node_load1 ", body, re.M)
    # Plain HTTP on the TLS port gets no metrics.
    status, body = fetch(host, "http://127.0.0.1:9110/metrics", AUTH)
    assert status != 200
    assert "node_load1" not in body
    web = host.file("/etc/node_exporter/web.yml")
    assert web.user == "root"
    assert web.group == "node-exp"
    assert web.mode == 0o640
    assert "molecule-fake-password" not in web.content_string
    assert f"cert_file: {CERT}" in web.content_string


def test_textfile_collector_exports_prom_files(host):
    path = "/var/lib/node_exporter/textfile/molecule_probe.prom"
    with host.sudo():
        write = f"printf 'molecule_probe_value 42\\n' > {path}.tmp && mv {path}.tmp {path}"
        host.run_expect([0], write)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if re.search(r"^molecule_probe_value 42$", scrape(host), re.M):
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


# Re-runs of converge.yml against the live hosts, with one setting changed each.
RERUNS = {
    # A systemd specifier typo: the flags are fine for node_exporter, but systemd refuses
    # the unit. It must fail at the unit's validation, before it is installed or loaded.
    "bad-unit": (
        "node_exporter-package",
        {"node_exporter_extra_args": ["--collector.filesystem.fs-types-exclude=^(%z)$"]},
    ),
    # A collector this build does not have: refused by the binary before the unit is written.
    "unknown-collector": (
        "node_exporter-package",
        {"node_exporter_enabled_collectors": ["systemd", "nosuchcollector"]},
    ),
    # The download URL is unreachable, the controller cache holds the tarball: nothing to do.
    "offline": (
        "node_exporter-binary",
        {"node_exporter_binary_url": "http://127.0.0.1:9/node_exporter-1.5.0.linux-amd64.tar.gz"},
    ),
}


def converge(limit: str, extra: dict) -> tuple[subprocess.CompletedProcess, dict | None]:
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", limit,
            "-e", json.dumps(extra), str(PROJECT / "molecule/node_exporter/converge.yml"),
        ],
        capture_output=True, text=True, timeout=300, check=False,
        env={
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        },
    )  # fmt: skip
    try:
        return proc, json.loads(proc.stdout)
    except json.JSONDecodeError:
        return proc, None


@pytest.fixture(scope="module")
def reruns():
    """Unit file checksum and loaded ExecStart/MainPID before and after each re-run."""

    def unit_state(hostname: str) -> dict:
        inventory = os.environ["MOLECULE_INVENTORY_FILE"]
        h = testinfra.get_host(f"ansible://{hostname}?ansible_inventory={inventory}")
        return {
            "sha": h.check_output(f"sha256sum {UNIT_FILE}"),
            # Only the command line: the property also carries the last run's times.
            "exec": re.search(r"argv\[\]=([^;]*)", unit_property(h, SERVICE, "ExecStart"))[1],
            "pid": unit_property(h, SERVICE, "MainPID"),
            "reload": unit_property(h, SERVICE, "NeedDaemonReload"),
        }

    before = {case: unit_state(limit) for case, (limit, _) in RERUNS.items()}
    with ThreadPoolExecutor(max_workers=len(RERUNS)) as pool:
        futures = {
            case: pool.submit(converge, limit, extra) for case, (limit, extra) in RERUNS.items()
        }
        runs = {case: future.result() for case, future in futures.items()}
    after = {case: unit_state(limit) for case, (limit, _) in RERUNS.items()}
    return {case: (runs[case], before[case], after[case]) for case in RERUNS}


def failed_tasks(report: dict) -> dict[str, str]:
    out = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if result.get("failed"):
                    out[task["task"]["name"].split(" : ")[-1]] = str(result.get("msg", "")) + str(
                        result.get("stderr", "")
                    )
    return out


def test_bad_unit_is_never_installed_or_loaded(reruns):
    (proc, report), before, after = reruns["bad-unit"]
    assert proc.returncode != 0 and report, proc.stdout[-3000:] + proc.stderr[-2000:]
    failed = failed_tasks(report)
    assert list(failed) == ["Write the hardened systemd unit"], failed
    assert "%z" in failed["Write the hardened systemd unit"], failed
    assert after == before, "the unit on disk or the loaded unit changed"
    assert after["reload"] == "no"


def test_unknown_collector_is_refused_before_the_unit_is_written(reruns):
    (proc, report), before, after = reruns["unknown-collector"]
    assert proc.returncode != 0 and report, proc.stdout[-3000:] + proc.stderr[-2000:]
    failed = failed_tasks(report)
    assert list(failed) == ["Check the binary accepts the flags"], failed
    message = failed["Check the binary accepts the flags"]
    assert "node_exporter_enabled_collectors" in message
    assert "--collector.nosuchcollector" in message
    assert after == before


def test_controller_cache_works_offline(reruns):
    (proc, report), before, after = reruns["offline"]
    assert proc.returncode == 0 and report, proc.stdout[-3000:] + proc.stderr[-2000:]
    stats = report["stats"]["node_exporter-binary"]
    assert stats["failures"] == 0
    assert stats["changed"] == 0, stats
    assert after == before
