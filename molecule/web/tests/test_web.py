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
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
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


def test_exposure_score_is_low(host):
    score, line = exposure_score(host, f"{APP}.service")
    assert score <= 2.0, line


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
