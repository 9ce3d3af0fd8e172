"""The local_lb role: HAProxy in front of two real backends, judged like the ALB would.

converge.yml sets every health check variable to a non-default value (path /lb-health/,
interval 2 s, timeout 1 s, rise 3, fall 2, matcher 200-204); the tests read them back from
the rendered file and from HAProxy's behaviour: ejection and return times, no failed
request while a backend dies and comes back, drain over the runtime API.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections import Counter

import pytest
import testinfra
from molecule_shared import load_start, load_stop, unit_property

testinfra_hosts = ["lb_db-lb"]

BACKENDS = ("lb_db-app1", "lb_db-app2")
FRONTEND = "http://127.0.0.1:8080/"
STATS = "http://127.0.0.1:8405"
CONFIG = "/etc/haproxy/haproxy.cfg"
SOCKET = "/run/haproxy/admin.sock"
# What converge.yml sets (the role's defaults are /health/, 15, 5, 2, 3, "200").
PATH, INTERVAL, TIMEOUT, RISE, FALL = "/lb-health/", 2, 1, 3, 2

_RUNTIME = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
s.shutdown(socket.SHUT_WR)
print(s.makefile().read(), end="")
"""


def backend(name: str):
    return testinfra.get_host(
        f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"]
    )


def host_ip(host) -> str:
    """The host's address on the scenario's docker network."""
    return host.check_output(
        "ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -n1"
    )


def runtime(host, command: str) -> str:
    """One command on HAProxy's runtime API (the admin socket), as root."""
    return host.check_output("python3 -c %s %s %s", _RUNTIME, SOCKET, command)


def servers(http) -> dict[str, dict[str, str]]:
    """The `app` backend's servers from the stats page's CSV, by server name."""
    resp = http(f"{STATS}/stats;csv")
    assert resp.status == 200
    rows = csv.DictReader(io.StringIO(resp.body.lstrip("# ")))
    return {r["svname"]: r for r in rows if r["pxname"] == "app" and r["svname"] in BACKENDS}


def wait_status(http, server: str, status: str, limit: float) -> float:
    """Seconds until `server` shows `status` (e.g. "DOWN"), polled; fails after `limit`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if servers(http)[server]["status"] == status:
            return time.monotonic() - start
        time.sleep(0.2)
    pytest.fail(f"{server} not {status} within {limit:.1f}s: {servers(http)[server]}")


def spread(http, n: int = 20) -> Counter[str]:
    """Which backend answered each of n requests through the frontend (the body says)."""
    seen: Counter[str] = Counter()
    for _ in range(n):
        resp = http(FRONTEND)
        assert resp.status == 200, resp.body
        seen[resp.body.strip().removeprefix("backend ")] += 1
    return seen


def logged_at(host, text: str) -> float:
    """Epoch seconds of the host's last journal line containing `text`."""
    line = host.check_output("journalctl --no-pager -o short-unix | grep -F %s | tail -n 1", text)
    assert line, f"no journal line with {text!r}"
    return float(line.split()[0])


def start_load(host) -> tuple[str, str]:
    """The shared load loop through the frontend; the body names the backend that answered."""
    options = ("--tally=body:backend", "--max-seconds 90", "--pause 0.02")
    started = load_start(host, "lb-load", [FRONTEND], *options)
    time.sleep(1)
    return started


@pytest.fixture
def healthy(http):
    """Both backends in rotation before and after the test."""
    for name in BACKENDS:
        wait_status(http, name, "UP", INTERVAL * RISE + TIMEOUT + 20)
    yield
    for name in BACKENDS:
        wait_status(http, name, "UP", INTERVAL * RISE + TIMEOUT + 20)


# --- files and unit ----------------------------------------------------------------


def test_config_passes_haproxy_check_and_is_not_world_readable(host):
    check = host.run(f"haproxy -c -f {CONFIG}")
    assert check.rc == 0, check.stdout + check.stderr
    assert "Configuration file is valid" in check.stdout
    cfg = host.file(CONFIG)
    assert (cfg.user, cfg.group, cfg.mode) == ("root", "haproxy", 0o640)


def test_unit_enabled_running_and_workers_drop_root(host):
    svc = host.service("haproxy")
    assert svc.is_enabled
    assert svc.is_running
    assert unit_property(host, "haproxy", "ActiveState") == "active"
    # Master runs as root (it re-execs on reload); the worker serving traffic does not.
    users = host.check_output("ps -o user= -C haproxy").split()
    assert "haproxy" in users, users


def test_health_check_settings_come_from_the_variables(host, http):
    cfg = host.file(CONFIG).content_string
    assert f"http-check send meth GET uri {PATH} ver HTTP/1.0" in cfg
    assert "http-check expect rstatus ^(200|201|202|203|204)$" in cfg
    assert f"timeout check {TIMEOUT}s" in cfg
    assert f"default-server inter {INTERVAL}s fall {FALL} rise {RISE}" in cfg
    assert "bind :8080" in cfg
    assert "retries 2" in cfg
    assert "timeout client 20s" in cfg
    assert "option redispatch 1" in cfg
    for name in BACKENDS:
        assert f"server {name} {host_ip(backend(name))}:8000 check" in cfg
    # ... and HAProxy runs with them.
    for row in servers(http).values():
        assert (row["check_rise"], row["check_fall"]) == (str(RISE), str(FALL))
        assert row["check_status"] == "L7OK"


def test_backends_are_checked_on_the_configured_path(host):
    lb_ip = host_ip(host)
    for name in BACKENDS:
        log = backend(name).check_output("journalctl -u lb-backend --no-pager -o cat")
        assert f"{lb_ip} - - " in log
        assert f'"GET {PATH} HTTP/1.0" 200' in log, f"{name} never saw a check on {PATH}"
        assert '"GET /health/ ' not in log, "the default path was used"


# --- serving -----------------------------------------------------------------------


def test_frontend_answers_and_spreads_over_both_backends(http, healthy):
    before = {k: int(v["stot"]) for k, v in servers(http).items()}
    seen = spread(http, 20)
    assert seen == Counter({"lb_db-app1": 10, "lb_db-app2": 10}), seen  # roundrobin
    after = {k: int(v["stot"]) for k, v in servers(http).items()}
    assert all(after[k] - before[k] >= 10 for k in BACKENDS), (before, after)


def test_stats_page_and_monitor_uri_answer(http):
    assert http(f"{STATS}/healthz").status == 200
    page = http(f"{STATS}/stats")
    assert page.status == 200
    assert "lb_db-app1" in page.body
    assert "lb_db-app2" in page.body


# --- runtime API -------------------------------------------------------------------


def test_admin_socket_is_restricted_and_answers_root(host):
    sock = host.file(SOCKET)
    assert sock.is_socket
    assert (sock.user, sock.group, sock.mode) == ("root", "haproxy", 0o660)
    denied = host.run("runuser -u nobody -- python3 -c %s %s %s", _RUNTIME, SOCKET, "help")
    assert denied.rc != 0
    assert "PermissionError" in denied.stderr
    state = runtime(host, "show servers state app")
    for name in BACKENDS:
        assert " app " in state, state
        assert f" {name} " in state, state


def test_drain_and_enable_over_the_runtime_api(host, http, healthy):
    """The same module deploy.yml drains a host with (playbooks/tasks/lb_out.yml, lb_in.yml)."""
    common = f"backend=app host=lb_db-app1 socket={SOCKET} wait_interval=1"
    host.ansible(
        "community.general.haproxy",
        f"{common} state=disabled drain=true wait_retries=10",
        check=False,
    )
    try:
        assert servers(http)["lb_db-app1"]["status"] == "MAINT"
        assert " lb_db-app1 " in runtime(host, "show servers state app")
        assert spread(http, 10) == Counter({"lb_db-app2": 10}), "a drained host gets no request"
    finally:
        host.ansible(
            "community.general.haproxy",
            f"{common} state=enabled wait=true wait_retries=30",
            check=False,
        )
    # `enable server` marks it UP at once ("UP 1/2"): its checks then confirm it.
    assert servers(http)["lb_db-app1"]["status"].startswith("UP")
    wait_status(http, "lb_db-app1", "UP", INTERVAL * FALL + TIMEOUT + 15)
    assert set(spread(http, 10)) == set(BACKENDS)


# --- health checks at work -----------------------------------------------------------


def test_dead_backend_leaves_and_rejoins_rotation_with_no_failed_request(host, http, healthy):
    app1 = backend("lb_db-app1")
    out, stop = start_load(host)
    try:
        app1.run_expect([0], "systemctl stop lb-backend")
        wait_status(http, "lb_db-app1", "DOWN", INTERVAL * FALL + TIMEOUT + 15)
        assert spread(http, 6) == Counter({"lb_db-app2": 6}), "routed to the live backend"
        app1.run_expect([0], "systemctl start lb-backend")
        wait_status(http, "lb_db-app1", "UP", INTERVAL * RISE + TIMEOUT + 15)
        time.sleep(1)
    finally:
        app1.run("systemctl start lb-backend")
        result = load_stop(host, out, stop, timeout=40)
    # Timed by the journals (one kernel clock for all containers), not by our polling.
    down = logged_at(host, "Server app/lb_db-app1 is DOWN") - logged_at(app1, "Stopped lb-backend")
    up = logged_at(host, "Server app/lb_db-app1 is UP") - logged_at(app1, "Started lb-backend")
    # fall=2: not before the second failed check, and by then at the latest.
    assert INTERVAL * (FALL - 1) - 0.3 <= down <= INTERVAL * FALL + TIMEOUT + 1.0, down
    # rise=3: three passing checks in a row, INTERVAL apart.
    assert INTERVAL * (RISE - 1) - 0.3 <= up <= INTERVAL * RISE + TIMEOUT + 1.0, up
    assert result["failures"] == 0, result
    assert result["requests"] >= 100, result
    assert result["tally"].get("lb_db-app2", 0) > result["tally"].get("lb_db-app1", 0)
    assert set(spread(http, 10)) == set(BACKENDS), "back in rotation"
    print(f"DOWN after {down:.2f}s, UP after {up:.2f}s, load loop: {result}")


def test_health_status_outside_the_matcher_takes_a_backend_out(http, healthy):
    """A 404 on the health path (the app is up, its check is not) fails the 200-204 matcher."""
    app2 = backend("lb_db-app2")
    health = "/srv/lb-backend/lb-health"
    app2.run_expect([0], f"mv {health} {health}.off")
    try:
        wait_status(http, "lb_db-app2", "DOWN", INTERVAL * FALL + TIMEOUT + 15)
        row = servers(http)["lb_db-app2"]
        assert (row["check_status"], row["check_code"]) == ("L7STS", "404"), row
        assert spread(http, 6) == Counter({"lb_db-app1": 6})
    finally:
        app2.run(f"mv {health}.off {health}")
    wait_status(http, "lb_db-app2", "UP", INTERVAL * RISE + TIMEOUT + 15)
