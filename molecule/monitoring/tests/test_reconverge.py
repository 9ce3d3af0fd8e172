"""The role's own reload and restart, and its binary install, proven by re-running it.

reconverge.yml runs two plays in one ansible-playbook run (see its header) with the
binary install method (a tarball built here from Debian's prometheus and promtool, as a
GitHub release is laid out); then converge.yml (prometheus tags only) restores the
scenario's settings and the package's binary. Both runs cover both hosts (the app host's
facts give its file_sd address). The handlers' results come from Ansible's JSON callback,
the PIDs from systemd, the effect from the API and the process' command line.
Runs last (file name): the other tests see the converged state.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from prom_api import api

testinfra_hosts = ["monitoring-mon"]
PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SCENARIO = PROJECT / "molecule/monitoring"
EXTRA_RULES = "/etc/prometheus/rules/molecule.rules.yml"
RELEASE = "prometheus-2.42.0.linux-amd64"  # Debian 12's version, laid out as a release

sys.path.insert(0, str(PROJECT / "tests/monitoring"))
import prometheus_server  # noqa: E402 - tests/monitoring, shared with the controller tests


@pytest.fixture(scope="module")
def binary_method(tmp_path_factory) -> dict:
    """Extra vars for the binary method: file:// tarball + its sha256 + a fresh cache."""
    tmp = tmp_path_factory.mktemp("binary")
    release = tmp / RELEASE
    release.mkdir()
    promtool = subprocess.run(
        [str(PROJECT / "scripts/promtool.sh"), "--path"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout.strip()  # fmt: skip
    shutil.copy(prometheus_server.binary(), release / "prometheus")
    shutil.copy(promtool, release / "promtool")
    tarball = tmp / f"{RELEASE}.tar.gz"
    with tarfile.open(tarball, "w:gz", compresslevel=1) as tar:
        tar.add(release, arcname=RELEASE)
    return {
        "prometheus_install_method": "binary",
        "prometheus_version": "2.42.0",
        "prometheus_binary_url": f"file://{tarball}",
        "prometheus_binary_sha256": hashlib.sha256(tarball.read_bytes()).hexdigest(),
        "prometheus_binary_cache_dir": str(tmp / "cache"),
    }


def run_playbook(playbook: Path, extra_vars: dict | None = None) -> list[dict]:
    """Run playbook on the monitoring host (prometheus role tags); the JSON callback's plays."""
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", os.environ["MOLECULE_INVENTORY_FILE"],
            "--tags", "prometheus_install,prometheus_configure,prometheus_run",
            "-e", json.dumps(extra_vars or {}),
            str(playbook),
        ],
        capture_output=True, text=True, timeout=600, check=False,
        env={
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        },
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)["plays"]


def outcome(play: dict, task_name: str) -> str | None:
    """'changed', 'ok', 'skipped' or 'failed' of the task (or handler) in play; None if absent."""
    for task in play["tasks"]:
        if task["task"]["name"].split(" : ")[-1] == task_name:
            result = task["hosts"]["monitoring-mon"]
            if result.get("skipped"):
                return "skipped"
            if result.get("failed"):
                return "failed"
            return "changed" if result.get("changed") else "ok"
    return None


def task_pid(play: dict, task_name: str) -> str:
    (task,) = [t for t in play["tasks"] if t["task"]["name"] == task_name]
    return task["hosts"]["monitoring-mon"]["status"]["MainPID"]


def cpu_threshold_and_rule_files(http) -> tuple[str, set[str]]:
    groups = api(http, "rules")["groups"]
    (cpu,) = [r for g in groups for r in g["rules"] if r["name"] == "HostCpuSaturated"]
    return cpu["query"].rsplit(">", 1)[1].strip(), {g["file"] for g in groups}


def wait_for_rules(http, threshold: str) -> set[str]:
    deadline = time.monotonic() + 30
    while True:
        current, files = cpu_threshold_and_rule_files(http)
        if current == threshold:
            return files
        if time.monotonic() > deadline:
            pytest.fail(f"HostCpuSaturated threshold is {current}, expected {threshold}")
        time.sleep(1)


def main_pid(host) -> str:
    return host.check_output("systemctl show -p MainPID --value prometheus")


def running_binary(host) -> str:
    # argv[0] of the main process (/proc/<pid>/exe needs CAP_SYS_PTRACE, which the container lacks).
    return host.check_output(f"ps -o args= -p {main_pid(host)}").split()[0]


def test_restart_skips_reload_and_a_later_play_still_reloads(host, http, binary_method):
    pid_before = main_pid(host)
    assert host.file(EXTRA_RULES).exists
    assert running_binary(host) == "/usr/bin/prometheus"  # the package's

    try:
        _, play1, play2 = run_playbook(SCENARIO / "reconverge.yml", binary_method)
        # Play 1: binary, unit and rules changed -> one restart, no reload.
        assert outcome(play1, "Download the tarball once, verified by checksum") == "changed"
        assert outcome(play1, "Copy prometheus and promtool to the host") == "changed"
        assert outcome(play1, "Write the hardened systemd unit") == "changed"
        assert outcome(play1, "Install the shipped alert rules (checked by promtool)") == "changed"
        assert outcome(play1, "Remove rule files the role no longer manages") == "changed"
        assert outcome(play1, "Restart prometheus") == "changed"
        assert outcome(play1, "Reload prometheus") == "skipped"
        # Play 2: only the rules changed -> a reload (not skipped for play 1's restart).
        assert outcome(play2, "Copy prometheus and promtool to the host") == "ok"
        assert outcome(play2, "Install the shipped alert rules (checked by promtool)") == "changed"
        assert outcome(play2, "Restart prometheus") is None
        assert outcome(play2, "Reload prometheus") == "changed"
        pid1 = task_pid(play1, "Record the PID after play 1")
        pid2 = task_pid(play2, "Record the PID after play 2")
        assert pid1 != pid_before, "play 1 did not restart Prometheus"
        assert pid2 == pid1, "play 2 restarted Prometheus instead of reloading it"

        files = wait_for_rules(http, "0.92")  # play 2's threshold: the SIGHUP took effect
        assert files == {"/etc/prometheus/rules/devops_django.rules.yml"}
        assert not host.file(EXTRA_RULES).exists
        flags = api(http, "status/flags")
        assert flags["storage.tsdb.retention.time"] == "2d"
        assert running_binary(host) == "/usr/local/bin/prometheus"  # the tarball's
    finally:
        _, restore = run_playbook(SCENARIO / "converge.yml")

    # The file_sd targets stay as converged: the app host's facts are gathered, and a second
    # run of the role in the same ansible-playbook run does not add its targets twice.
    file_sd = "Write the file_sd targets (Prometheus re-reads them without a reload)"
    assert [outcome(p, file_sd) for p in (play1, play2, restore)] == ["ok", "ok", "ok"]
    assert outcome(restore, "Restart prometheus") == "changed"
    assert outcome(restore, "Reload prometheus") == "skipped"
    assert main_pid(host) != pid2
    files = wait_for_rules(http, "0.9")
    assert EXTRA_RULES in files
    assert api(http, "status/flags")["storage.tsdb.retention.time"] == "1d"
    assert running_binary(host) == "/usr/bin/prometheus"
