"""The web tier on one host: nginx -> gunicorn (systemd socket) -> Django -> PostgreSQL.

The last tests redeploy with ansible-playbook while a bounded request loop runs inside
the host: release B under traffic, a rollback to A under traffic, and a broken release
that must be refused before it becomes current.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from molecule_shared import exposure_score, load_start, load_stop, unit_property

APP = "sampleapp"
BASE = "http://127.0.0.1"
LOCAL = {"Host": "localhost"}
ARTIFACTS = Path(os.environ.get("WEB_ARTIFACTS", "/nonexistent"))
SCENARIO_DIR = Path(__file__).resolve().parent.parent


def release_id(name: str) -> str:
    return json.loads((ARTIFACTS / name / "release.json").read_text())["release_id"]


def host_ip(host) -> str:
    """The host's own address on the docker network (what the ALB would use as Host)."""
    return host.check_output(
        "ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -n1"
    )


def current_release(host) -> str:
    return Path(host.file(f"/srv/{APP}/current").linked_to).name


def deploy(*extra: str) -> subprocess.CompletedProcess:
    """Run the scenario's converge playbook again with extra vars (bounded in time)."""
    cmd = [
        "ansible-playbook",
        "-i",
        os.environ["MOLECULE_INVENTORY_FILE"],
        str(SCENARIO_DIR / "converge.yml"),
        # Packages, users and nginx are in place already: redeploy only the release.
        "--skip-tags",
        "django_app_install,nginx_install,nginx_configure",
        *[arg for pair in (("-e", e) for e in extra) for arg in pair],
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def reconfigure(*extra: str) -> subprocess.CompletedProcess:
    """Run the converge playbook again for nginx's configuration only (bounded in time)."""
    cmd = [
        "ansible-playbook",
        "-i",
        os.environ["MOLECULE_INVENTORY_FILE"],
        str(SCENARIO_DIR / "converge.yml"),
        "--skip-tags",
        "django_app_install,django_app_configure,django_app_run,nginx_install",
        *[arg for pair in (("-e", e) for e in extra) for arg in pair],
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def children(host, pid: str) -> set[str]:
    return set(host.run(f"pgrep -P {pid}").stdout.split())


def wait_for(predicate, timeout: float = 60, step: float = 1):
    """Poll `predicate` until it returns a truthy value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def log_line(host, probe: str) -> str:
    log = host.check_output("tail -n 300 /var/log/nginx/access.log")
    return next(line for line in log.splitlines() if probe in line)


def run_under_load(host, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Deploy while the load loop hits /health/ and /notes/ through nginx; both results."""
    urls = ["http://127.0.0.1/health/", "http://127.0.0.1/notes/"]
    options = ("--host-header localhost", "--max-seconds 200", "--max-requests 40000")
    out, stop = load_start(host, "web-load", urls, *options)
    time.sleep(3)
    result = deploy(*extra)
    time.sleep(3)
    return result, load_stop(host, out, stop)


# --- serving -------------------------------------------------------------------------


def test_health_and_ready_through_nginx(http):
    health = http(f"{BASE}/health/", headers=LOCAL)
    assert health.status == 200
    assert health.json()["status"] == "ok"
    assert health.header("Server") == "nginx", "server_tokens off: no version"
    assert health.header("X-App-Release") == health.json()["release"]
    ready = http(f"{BASE}/ready/", headers=LOCAL)
    assert ready.status == 200, ready.body
    assert ready.json()["database"] == "ok"


def test_db_page_and_security_headers(http):
    page = http(f"{BASE}/notes/", headers=LOCAL)
    assert page.status == 200
    assert "Welcome to the sample app" in page.body, "seed_demo ran after the release went live"
    assert page.header("X-Content-Type-Options") == "nosniff", "one header, not duplicated"
    assert page.header("X-Frame-Options") == "DENY"
    assert page.header("Referrer-Policy") == "same-origin"


def test_static_file_is_served_by_nginx_with_far_future_cache(http):
    page = http(f"{BASE}/notes/", headers=LOCAL)
    css = re.search(r'href="(/static/notes/notes\.[0-9a-f]{12}\.css)"', page.body)
    assert css, "the page links the hashed stylesheet"
    resp = http(f"{BASE}{css.group(1)}", headers={**LOCAL, "Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.header("Cache-Control") == "public, max-age=31536000, immutable"
    assert resp.header("X-App-Release") is None, "answered by nginx, not by Django"
    assert resp.header("X-Content-Type-Options") == "nosniff"
    unhashed = http(f"{BASE}/static/notes/notes.css", headers=LOCAL)
    assert unhashed.status == 200
    assert unhashed.header("Cache-Control") == "public, max-age=300"


def test_gzip_only_for_clients_that_accept_it(http):
    """A static file (nginx) and a proxied page (gunicorn), both above gzip_min_length."""
    for path in ("/static/admin/css/base.css", "/notes/"):
        gz = http(f"{BASE}{path}", headers={**LOCAL, "Accept-Encoding": "gzip"})
        assert gz.status == 200, path
        assert gz.header("Content-Encoding") == "gzip", (path, gz.headers)
        assert "Accept-Encoding" in (gz.header("Vary") or ""), (path, gz.headers)
        plain = http(f"{BASE}{path}", headers=LOCAL)
        assert plain.status == 200, path
        assert plain.header("Content-Encoding") is None, (path, plain.headers)
        size = int(plain.header("Content-Length") or len(plain.body))
        assert size > 1024, f"{path}: {size} bytes, not above gzip_min_length"


def test_admin_login_page_renders(http):
    resp = http(f"{BASE}/admin/login/", headers=LOCAL)
    assert resp.status == 200
    assert "Django administration" in resp.body
    assert 'name="csrfmiddlewaretoken"' in resp.body


def test_unknown_host_is_refused_but_health_answers_for_the_instance_ip(host, http):
    ip = host_ip(host)
    assert http(f"{BASE}/notes/", headers={"Host": "evil.example"}).status == 0, (
        "444: closed, no answer"
    )
    assert http(f"http://{ip}/admin/login/").status == 0, "instance IP as Host: only the probes"
    health = http(f"http://{ip}/health/")
    assert health.status == 200
    assert health.header("X-App-Release"), "the probe went through gunicorn and Django"


def test_metrics_and_stub_status_only_from_monitoring_cidrs(host, http):
    ip = host_ip(host)  # converge.yml: nginx_monitoring_cidrs = [<this address>/32]
    assert http(f"{BASE}/metrics", headers=LOCAL).status == 403
    assert http(f"{BASE}/nginx_status", headers=LOCAL).status == 403
    spoofed = {**LOCAL, "X-Forwarded-For": ip}  # 127.0.0.1 is a trusted proxy here
    assert http(f"{BASE}/metrics", headers=spoofed).status == 403, (
        "XFF never grants monitoring access"
    )
    metrics = http(f"http://{ip}/metrics")
    assert metrics.status == 200
    assert "django_http_requests_total" in metrics.body
    status = http(f"http://{ip}/nginx_status")
    assert status.status == 200
    assert "Active connections" in status.body


def test_client_ip_taken_from_trusted_proxy_only(host, http):
    trusted_probe, untrusted_probe = uuid.uuid4().hex, uuid.uuid4().hex
    xff = {**LOCAL, "X-Forwarded-For": "203.0.113.7"}
    assert http(f"{BASE}/health/?p={trusted_probe}", headers=xff).status == 200
    ip = host_ip(host)
    assert (
        http(
            f"http://{ip}/health/?p={untrusted_probe}", headers={"X-Forwarded-For": "203.0.113.8"}
        ).status
        == 200
    )
    log = host.check_output("tail -n 200 /var/log/nginx/access.log")
    trusted_line = next(line for line in log.splitlines() if trusted_probe in line)
    untrusted_line = next(line for line in log.splitlines() if untrusted_probe in line)
    assert trusted_line.startswith("203.0.113.7 "), trusted_line
    assert untrusted_line.startswith(f"{ip} "), untrusted_line
    assert re.search(r" rt=[0-9.]+ urt=[0-9.]+$", trusted_line), "request and upstream times logged"


def test_forwarded_proto_trusted_from_trusted_proxy_only(host, http):
    """The scheme sent to Django (logged as proto=): X-Forwarded-Proto only from the LB range."""
    trusted, untrusted, plain = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    https = {"X-Forwarded-Proto": "https"}
    assert http(f"{BASE}/health/?p={trusted}", headers={**LOCAL, **https}).status == 200
    assert http(f"{BASE}/health/?p={plain}", headers=LOCAL).status == 200
    assert http(f"http://{host_ip(host)}/health/?p={untrusted}", headers=https).status == 200
    assert " proto=https " in log_line(host, trusted), "127.0.0.1 is trusted: its https is kept"
    assert " proto=http " in log_line(host, plain), "no header: nginx's own scheme"
    assert " proto=http " in log_line(host, untrusted), "an untrusted peer's https is ignored"


def test_nginx_config_is_valid_and_default_site_removed(host):
    with host.sudo():
        assert host.run("nginx -t").rc == 0
        dump = host.check_output("nginx -T 2>/dev/null")
    assert not host.file("/etc/nginx/sites-enabled/default").exists
    assert "server_tokens off;" in dump
    assert "keepalive 32;" in dump


def test_site_checker_refuses_a_broken_site(host):
    """The role's `validate:` command: a broken site never replaces the live one."""
    with host.sudo():
        assert host.run("nginx-check-site /etc/nginx/sites-available/django.conf").rc == 0
        broken = "/root/bad.conf"
        host.run_expect([0], f"printf 'server {{ listen 81; no_such_directive on; }}' > {broken}")
        bad = host.run(f"nginx-check-site {broken}")
        host.run(f"rm -f {broken}")
    assert bad.rc != 0
    assert "no_such_directive" in bad.stderr


def test_nginx_config_change_is_a_reload_not_a_restart(host):
    """A changed variable rewrites the site: nginx -t, then HUP (same master, new workers)."""
    master = host.check_output("cat /run/nginx.pid")
    started = unit_property(host, "nginx.service", "ExecMainStartTimestampMonotonic")
    workers = children(host, master)
    # Left at 11m for the remaining tests (the release redeploys skip nginx_configure).
    result = reconfigure("nginx_client_max_body_size=11m")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "RUNNING HANDLER [devops.django.nginx : Reload the nginx service]" in out
    assert "Restart the nginx service]" not in out
    with host.sudo():
        assert "client_max_body_size 11m;" in host.check_output("nginx -T 2>/dev/null")
    assert host.check_output("cat /run/nginx.pid") == master, "the master survived"
    assert unit_property(host, "nginx.service", "ExecMainStartTimestampMonotonic") == started
    assert wait_for(lambda: not children(host, master) & workers, timeout=30), "new workers"


# The sandbox both units share (nginx's drop-in, the app's own unit); each test adds its own.
SANDBOX = [
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"),
    ("PrivateDevices", "yes"),
    ("ProtectKernelTunables", "yes"),
]


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        *SANDBOX,
        ("ProtectControlGroups", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
    ],
)
def test_nginx_unit_hardening(host, prop, expected):
    assert unit_property(host, "nginx.service", prop) == expected


def test_nginx_stops_before_the_app_at_shutdown(host):
    """Ordered after the app's units, so systemd stops nginx first: a host going down refuses
    connections (the load balancer retries them elsewhere) instead of answering 502 from an
    nginx whose gunicorn is already gone (tests/stack test_stopped_app_host_is_routed_around)."""
    after = unit_property(host, "nginx.service", "After").split()
    assert {"sampleapp.socket", "sampleapp.service"} <= set(after)


def test_nginx_master_keeps_only_the_capabilities_it_needs(host):
    caps = {"cap_chown", "cap_dac_override", "cap_kill", "cap_setgid", "cap_setuid"}
    caps.add("cap_net_bind_service")
    assert set(unit_property(host, "nginx.service", "CapabilityBoundingSet").split()) == caps
    families = unit_property(host, "nginx.service", "RestrictAddressFamilies")
    assert set(families.split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    master = host.check_output("cat /run/nginx.pid")
    # The running master, not just the unit: bits 0,1,5,6,7,10 = the six capabilities.
    bounding = host.check_output(f"awk '/^CapBnd/ {{print $2}}' /proc/{master}/status")
    assert int(bounding, 16) == 0x4E3, bounding
    readonly = host.run(f"nsenter -t {master} -m touch /etc/nginx/x")
    assert readonly.rc != 0 and "Read-only file system" in readonly.stderr, readonly.stderr


def test_nginx_exposure_score(host, capsys):
    score, line = exposure_score(host, "nginx.service")
    with capsys.disabled():
        print(f"\nnginx.service: {line}")
    assert score <= 2.7, line  # measured 2.5 (README); Debian's unit alone: 9.6


# --- the service and its secrets -----------------------------------------------------


def test_env_file_is_private_and_secrets_stay_in_it(host):
    env = host.file(f"/etc/{APP}/env")
    assert (env.user, env.group, env.mode) == ("root", APP, 0o640)
    assert "molecule-fake-db-password" in env.content_string
    for public in (f"/etc/{APP}/gunicorn.conf.py", f"/srv/{APP}/current/release.env"):
        assert "molecule-fake" not in host.file(public).content_string, public
    assert host.file(f"/etc/{APP}").mode == 0o750


def test_env_values_reach_the_app_verbatim(host):
    pid = host.check_output(f"systemctl show -p MainPID --value {APP}.service")
    with host.sudo():
        environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
    assert (
        "MOLECULE_ENV_PROBE=quote\" dollar$HOME back\\slash `tick` 'single' %percent"
        in environ.splitlines()
    )


def test_service_user_and_processes(host):
    user = host.user(APP)
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000
    pids = host.check_output(f"systemctl show -p MainPID --value {APP}.service")
    assert host.check_output(f"ps -o user= -p {pids}") == APP
    workers = host.check_output(f"pgrep -u {APP} -c -f gunicorn")
    assert int(workers) >= 2, "master + at least one worker"


def test_socket_activation(host):
    assert host.service(f"{APP}.socket").is_running
    assert host.service(f"{APP}.service").is_enabled
    sock = host.file(f"/run/{APP}/gunicorn.sock")
    assert sock.is_socket
    assert (sock.group, sock.mode) == ("www-data", 0o660)
    assert host.check_output(f"systemctl show -p Triggers --value {APP}.socket") == f"{APP}.service"


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        *SANDBOX,
        ("CapabilityBoundingSet", ""),
        ("User", APP),
        ("KillMode", "mixed"),
        ("ReadWritePaths", ""),
    ],
)
def test_unit_hardening(host, prop, expected):
    assert unit_property(host, f"{APP}.service", prop) == expected


def test_address_families_are_restricted(host):
    out = host.check_output(f"systemctl show -p RestrictAddressFamilies --value {APP}.service")
    assert set(out.split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}


def test_exposure_score_is_low(host, capsys):
    score, line = exposure_score(host, f"{APP}.service")
    with capsys.disabled():
        print(f"\n{APP}.service: {line}")
    assert score <= 1.5, line  # measured 1.3 (README)


def test_reload_replaces_workers_under_traffic_drops_nothing(host):
    """ExecReload (HUP): same master, new workers, no failed request."""
    main = unit_property(host, f"{APP}.service", "MainPID")
    before = children(host, main)
    assert before, "the master has workers"
    urls = ["http://127.0.0.1/health/", "http://127.0.0.1/notes/"]
    options = ("--host-header localhost", "--max-seconds 90", "--max-requests 20000")
    out, stop = load_start(host, "web-reload", urls, *options)
    time.sleep(3)
    host.run_expect([0], f"systemctl reload {APP}.service")
    after = wait_for(lambda: (c := children(host, main)) and not c & before and c, timeout=45)
    time.sleep(3)
    load = load_stop(host, out, stop)
    assert load["failures"] == 0, load
    assert load["requests"] >= 50, load
    assert unit_property(host, f"{APP}.service", "MainPID") == main, "a reload, not a restart"
    assert after, f"old workers {before} still there: {children(host, main)}"


def test_app_cannot_write_its_code(host):
    with host.sudo(APP):
        assert host.run(f"touch /srv/{APP}/current/venv/bin/x").rc != 0
    assert host.file(f"/srv/{APP}/current/venv").user == "root"


# --- releases under traffic (order matters: B, rollback to A, broken) ------------------


def test_release_switch_under_traffic_drops_nothing(host):
    a, b = release_id("release-a"), release_id("release-b")
    assert current_release(host) == a
    result, load = run_under_load(host, "web_release=release-b")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert load["failures"] == 0, load
    assert load["requests"] >= 100, load
    assert load["tally"].get(a, 0) > 0, f"traffic before the switch: {load}"
    assert load["tally"].get(b, 0) > 0, f"traffic after the switch: {load}"
    assert current_release(host) == b
    assert Path(host.file(f"/srv/{APP}/previous").linked_to).name == a


def test_static_files_of_the_previous_release_are_still_served(host, http):
    """A page rendered by A just before the switch to B still finds A's files."""
    a = release_id("release-a")
    probe = f"probe-{uuid.uuid4().hex}.txt"
    only_in_a = f"/srv/{APP}/releases/{a}/static/{probe}"
    host.run_expect([0], f"echo from-previous > {only_in_a}")
    try:
        resp = http(f"{BASE}/static/{probe}", headers=LOCAL)
        assert resp.status == 200 and resp.body.strip() == "from-previous", resp
        assert http(f"{BASE}/static/missing-{probe}", headers=LOCAL).status == 404
    finally:
        host.run(f"rm -f {only_in_a}")


def test_rollback_under_traffic_drops_nothing(host, http):
    a, b = release_id("release-a"), release_id("release-b")
    result, load = run_under_load(host, '{"django_app_rollback": true}')
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert load["failures"] == 0, load
    assert load["tally"].get(b, 0) > 0 and load["tally"].get(a, 0) > 0, load
    assert current_release(host) == a
    assert http(f"{BASE}/health/", headers=LOCAL).header("X-App-Release") == a


def test_broken_release_never_becomes_current(host, http):
    a = release_id("release-a")
    result = deploy("web_release=release-broken")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "failed its pre-switch check" in output
    assert "was NOT made current" in output
    assert "sampleapp_missing_module" in output, "the message names the cause"
    assert current_release(host) == a
    health = http(f"{BASE}/health/", headers=LOCAL)
    assert health.status == 200
    assert health.header("X-App-Release") == a
    assert not host.service(f"{APP}-smoke.service").is_running


def test_old_releases_pruned_current_and_previous_kept(host):
    """releases_keep=2 after the broken release: the refused one goes, current and previous stay.

    The broken release is the newest directory: pruning by age alone would keep it.
    Also shows the warnings of check --deploy in the deploy's output.
    """
    a, b = release_id("release-a"), release_id("release-b")
    broken = release_id("release-broken")
    releases = f"ls -1 /srv/{APP}/releases"
    assert set(host.check_output(releases).split()) == {a, b, broken}
    result = deploy("web_release=release-b", '{"django_app_releases_keep": 2}')
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert current_release(host) == b
    assert Path(host.file(f"/srv/{APP}/previous").linked_to).name == a
    assert set(host.check_output(releases).split()) == {a, b}
    assert "System check identified" in out, "check --deploy warnings are shown"
    assert "security.W004" in out, "the HSTS warning (docs/app.md) is among them"
