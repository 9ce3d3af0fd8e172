"""The local stack for the stack tests: moto + containers + site.yml, torn down after.

`make test-stack` replaces a local stack started with `make local` (same containers).
KEEP_STACK=1 leaves it running after the tests, for a look around; REUSE_STACK=1 runs
the tests against the stack `make local` left running (no bring-up, no teardown).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
LB = "http://127.0.0.1:8080"
LB_STATS = "http://127.0.0.1:8404/stats;csv"
PROMETHEUS = "http://127.0.0.1:9090"
PREFIX = "172.30.99"
APP_IPS = {"app1": f"{PREFIX}.21", "app2": f"{PREFIX}.22"}
ENV = {
    **os.environ,
    "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
    "LOCAL_MOTO_URL": "http://127.0.0.1:5055",
    "AWS_ACCESS_KEY_ID": "local-fake-access-key",
    "AWS_SECRET_ACCESS_KEY": "local-fake-secret-key",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_FORCE_COLOR": "0",
}


@dataclass
class Run:
    rc: int
    output: str
    seconds: float

    def changed(self) -> dict[str, int]:
        """changed= per host from the PLAY RECAP."""
        return {
            m.group(1): int(m.group(2))
            for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", self.output, re.M)
        }

    def changed_tasks(self) -> list[str]:
        """Names ("devops.django.nginx : Write the site") of the tasks and handlers that
        reported a change on any host, in output order."""
        names, current = [], None
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                current = line[line.index("[") + 1 : line.rfind("]")]
            elif line.startswith("changed:") and current and current not in names:
                names.append(current)
        return names


def run(cmd: list[str], timeout: int = 1500, **env: str) -> Run:
    started = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env={**ENV, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started)


def playbook(name: str, *args: str, timeout: int = 1500) -> Run:
    return run(
        ["ansible-playbook", "-i", "inventories/local", f"playbooks/{name}", *args],
        timeout=timeout,
    )


def dry_run(name: str, *args: str) -> Run:
    """`name` with --check --diff: what a real run would change, changing nothing."""
    return playbook(name, "--check", "--diff", *args, timeout=600)


# What web.yml's roles create on the hosts: the dry run on fresh hosts must leave all of it
# absent (and the converge then creates it, so the probe is not vacuous).
# container -> {what: shell test}
CONVERGE_MARKS = {
    "dd-local-app1": {
        "app base dir": "test -e /srv/sampleapp",
        "app config dir": "test -e /etc/sampleapp",
        "nginx site file": "test -e /etc/nginx/sites-available/django.conf",
        "node_exporter unit": "test -e /etc/systemd/system/node_exporter.service",
        "app user": "getent passwd sampleapp",
        "nginx running": "systemctl is-active --quiet nginx",
    },
    "dd-local-db": {
        "server settings": "test -e /etc/postgresql/15/main/conf.d/90-devops.conf",
        "postgresql running": "systemctl is-active --quiet postgresql@15-main",
    },
    "dd-local-lb": {"haproxy running": "systemctl is-active --quiet haproxy"},
}


FRESH_CHECK_LIMIT = "all:!app2"


def converge_marks() -> dict[str, bool]:
    """For each of CONVERGE_MARKS, "<container>: <what>" -> whether the host has it now."""
    marks = {}
    for container, tests in CONVERGE_MARKS.items():
        for what, test in tests.items():
            found = docker("exec", container, "sh", "-c", test, check=False)
            marks[f"{container}: {what}"] = found.returncode == 0
    return marks


def moto_secret_names() -> list[str]:
    client = boto3.client(
        "secretsmanager",
        endpoint_url=ENV["LOCAL_MOTO_URL"],
        region_name=ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"],
    )
    return [s["Name"] for s in client.list_secrets()["SecretList"]]


def get(url: str, timeout: float = 5.0, headers: dict | None = None):
    """(status, headers, body); status 0 when no HTTP answer came back."""
    # Only http:// URLs built by these tests (127.0.0.1 or the stack's containers).
    req = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()
    except OSError as exc:
        return 0, {}, repr(exc)


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def docker(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=check, input=stdin
    )


@dataclass
class LoadLoop:
    """Bounded load through the load balancer (127.0.0.1 only).

    `workers` threads alternate /health/ and /notes/ until stop() or until either bound
    (max_requests in total, max_seconds) is reached. `pause` seconds between a worker's
    requests: ~40 requests/s in all, a request every ~25 ms (a gap in service longer than
    that is seen), while the plays under test keep most of the 2 cores.
    """

    paths: tuple[str, ...] = ("/health/", "/notes/")
    workers: int = 3
    pause: float = 0.06
    max_requests: int = 20000
    max_seconds: float = 600.0
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    releases: Counter = field(default_factory=Counter)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._count = 0
        self._threads = [
            threading.Thread(target=self._work, daemon=True) for _ in range(self.workers)
        ]

    def _work(self):
        deadline = time.monotonic() + self.max_seconds
        i = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self._count >= self.max_requests:
                    return
                self._count += 1
            path = self.paths[i % len(self.paths)]
            i += 1
            status, headers, body = get(LB + path, timeout=10)
            with self._lock:
                self.statuses[status] += 1
                if status != 200:
                    self.errors.append(f"{path}: {status} {body[:120]}")
                release = headers.get("X-App-Release") or headers.get("x-app-release")
                if release:
                    self.releases[release] += 1
            time.sleep(self.pause)

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        """Stop the workers and wait for their last requests (idempotent)."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def __exit__(self, *exc):
        self.stop()

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def host_get(host: str, path: str):
    """GET straight to an app host (not through the load balancer)."""
    return get(f"http://{APP_IPS[host]}{path}", headers={"Host": "127.0.0.1"})


def lb_servers() -> dict[str, dict[str, str]]:
    """HAProxy's own view of the app backend, per server: status (UP/DOWN/...), stot, ..."""
    status, _, body = get(LB_STATS)
    assert status == 200, body[:200]
    header, *rows = body.lstrip("# ").splitlines()
    names = header.split(",")
    servers = {}
    for row in rows:
        fields = dict(zip(names, row.split(","), strict=False))
        if fields.get("pxname") == "app" and fields.get("svname") not in ("FRONTEND", "BACKEND"):
            servers[fields["svname"]] = fields
    return servers


def unit_pid(container: str, unit: str) -> str:
    out = docker("exec", container, "systemctl", "show", "-p", "MainPID", "--value", unit)
    return out.stdout.strip()


def release_of(host: str) -> str:
    """Release id the host serves, asked directly (not through the load balancer)."""
    status, _, body = host_get(host, "/health/")
    assert status == 200, f"{host} /health/ answered {status}: {body[:200]}"
    return json.loads(body)["release"]


@pytest.fixture(scope="session")
def stack():
    """Bring the local stack up from nothing with site.yml, twice; yield both runs.

    REUSE_STACK=1 (for iterating on one test): use the stack `make local` left running,
    as it is; the site.yml runs are not made and the test about them skips."""
    if os.environ.get("REUSE_STACK") == "1":
        yield {}
        return
    run(["scripts/local.sh", "down"])
    hosts = run(["scripts/local.sh", "hosts"])
    assert hosts.rc == 0, hosts.output[-3000:]
    artifact = run(["scripts/app-artifact.sh", "--out", "build/app"])
    assert artifact.rc == 0, artifact.output[-3000:]
    # The dry run on fresh hosts (and a fresh moto); the tests judge it, after the converge.
    # app2 is left out: it is app1's twin, and the CPU of a second app host buys no assertion.
    fresh_check = dry_run("web.yml", "--limit", FRESH_CHECK_LIMIT)
    after_fresh_check = {"marks": converge_marks(), "secrets": moto_secret_names()}
    first = playbook("site.yml")
    assert first.rc == 0, first.output[-6000:]
    second = playbook("site.yml")
    assert second.rc == 0, second.output[-6000:]
    converged_check = dry_run("web.yml")
    print(
        f"\nsite.yml: first run {first.seconds:.0f}s, second run {second.seconds:.0f}s;"
        f" web.yml --check --diff: fresh hosts {fresh_check.seconds:.0f}s,"
        f" converged {converged_check.seconds:.0f}s"
    )
    yield {
        "first": first,
        "second": second,
        "fresh_check": fresh_check,
        "after_fresh_check": after_fresh_check,
        "converged_check": converged_check,
    }
    if os.environ.get("KEEP_STACK") != "1":
        run(["scripts/local.sh", "down"])
