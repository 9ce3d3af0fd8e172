"""django_app and nginx refuse bad input before any change, naming only the bad variable.

Each case runs, in check mode against the scenario's host, either bad_input.yml (one
role, bad extra vars) or playbooks/web.yml (all the app host's roles: the pre_tasks must
check nginx before node_exporter or django_app change anything). The JSON callback gives
every task that ran: all must be validation or preflight tasks, none changed, exactly one
failed, and its message names the variable under test and no other role variable.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
ROLES = PROJECT / "collections/ansible_collections/devops/django/roles"
SCENARIO = Path(__file__).resolve().parent.parent
ARTIFACT = str(Path(os.environ.get("WEB_ARTIFACTS", "/nonexistent")) / "release-a")
FAKE = "molecule-fake-bad-input-password"
HOST = "web-host"
APP = {"django_app_artifact_dir": ARTIFACT}

# id -> (playbook: role name or "web.yml", extra vars, variable under test, strings the
# failure message must contain). "{wheel_missing}" is an artifact made by the fixture.
CASES = {
    # django_app preflight
    "app-name": ("django_app", {"django_app_name": "Bad Name"}, "django_app_name", ["'Bad Name'"]),
    "app-base-dir": (
        "django_app",
        {"django_app_base_dir": "srv/x"},
        "django_app_base_dir",
        ["'srv/x'"],
    ),
    "app-config-dir": (
        "django_app",
        {"django_app_config_dir": "etc/x"},
        "django_app_config_dir",
        ["'etc/x'"],
    ),
    "app-socket": (
        "django_app",
        {"django_app_socket_path": "x.sock"},
        "django_app_socket_path",
        ["'x.sock'"],
    ),
    "app-boot-env": (
        "django_app",
        {"django_app_boot_env_file": "boot.env"},
        "django_app_boot_env_file",
        ["'boot.env'"],
    ),
    "app-keep-1": (
        "django_app",
        {"django_app_releases_keep": 1},
        "django_app_releases_keep",
        [">= 2", "got 1"],
    ),
    "app-wsgi": (
        "django_app",
        {"django_app_wsgi_module": "app/wsgi.py"},
        "django_app_wsgi_module",
        ["'app/wsgi.py'"],
    ),
    "app-smoke-path": (
        "django_app",
        {"django_app_smoke_path": "health/"},
        "django_app_smoke_path",
        ["'health/'"],
    ),
    "app-env-name": (
        "django_app",
        {"django_app_env": {"BAD-NAME": "x"}},
        "django_app_env",
        ["'BAD-NAME'"],
    ),
    "app-secret-two-lines": (
        "django_app",
        {"django_app_secret_env": {"DB_PASSWORD": f"{FAKE}\nsecond line"}},
        "django_app_secret_env",
        ["'DB_PASSWORD'", "one line"],
    ),
    "app-ssm-name": (
        "django_app",
        {"django_app_ssm_parameters": {"bad name": "/x"}},
        "django_app_ssm_parameters",
        ["'bad name'"],
    ),
    "app-secretsmanager-name": (
        "django_app",
        {"django_app_secretsmanager_secrets": {"1KEY": "x"}},
        "django_app_secretsmanager_secrets",
        ["'1KEY'"],
    ),
    "app-no-artifact": (
        "django_app",
        {"django_app_artifact_dir": "/nonexistent/app"},
        "django_app_artifact_dir",
        ["no release.json"],
    ),
    "app-wheel-missing": (
        "django_app",
        {"django_app_artifact_dir": "{wheel_missing}"},
        "django_app_artifact_dir",
        ["'missing_app-1.0-py3-none-any.whl'", "not in wheelhouse/"],
    ),
    # django_app argument spec
    "app-keep-not-int": (
        "django_app",
        {"django_app_releases_keep": "three"},
        "django_app_releases_keep",
        ["int"],
    ),
    "app-worker-class": (
        "django_app",
        {"django_app_gunicorn_worker_class": "eventlet"},
        "django_app_gunicorn_worker_class",
        ["eventlet"],
    ),
    "app-env-not-dict": ("django_app", {"django_app_env": ["A=1"]}, "django_app_env", ["dict"]),
    # nginx preflight
    "nginx-site-name": ("nginx", {"nginx_site_name": "my site"}, "nginx_site_name", ["'my site'"]),
    "nginx-no-server-names": ("nginx", {"nginx_server_names": []}, "nginx_server_names", ["empty"]),
    "nginx-server-name": (
        "nginx",
        {"nginx_server_names": ["localhost", "a/b"]},
        "nginx_server_names",
        ["a/b"],
    ),
    "nginx-port-range": ("nginx", {"nginx_listen_port": 70000}, "nginx_listen_port", ["70000"]),
    "nginx-static-url": ("nginx", {"nginx_static_url": "static"}, "nginx_static_url", ["'static'"]),
    "nginx-static-root": (
        "nginx",
        {"nginx_static_root": "/srv/s"},
        "nginx_static_root",
        ["'/srv/s'"],
    ),
    "nginx-static-fallback": (
        "nginx",
        {"nginx_static_fallback_root": "previous/static/"},
        "nginx_static_fallback_root",
        ["'previous/static/'"],
    ),
    "nginx-socket": (
        "nginx",
        {"nginx_upstream_socket": "g.sock"},
        "nginx_upstream_socket",
        ["'g.sock'"],
    ),
    "nginx-health-path": (
        "nginx",
        {"nginx_health_check_paths": ["health/"]},
        "nginx_health_check_paths",
        ["health/"],
    ),
    "nginx-metrics-path": (
        "nginx",
        {"nginx_metrics_path": "metrics"},
        "nginx_metrics_path",
        ["'metrics'"],
    ),
    "nginx-header-quote": (
        "nginx",
        {"nginx_security_headers": {"X-Test": 'a"b'}},
        "nginx_security_headers",
        ["'X-Test'"],
    ),
    "nginx-trusted-cidr": (
        "nginx",
        {"nginx_trusted_proxy_cidrs": ["alb.example.com"]},
        "nginx_trusted_proxy_cidrs",
        ["'alb.example.com'"],
    ),
    "nginx-monitoring-cidr": (
        "nginx",
        {"nginx_monitoring_cidrs": ["any"]},
        "nginx_monitoring_cidrs",
        ["'any'"],
    ),
    # nginx argument spec
    "nginx-port-not-int": ("nginx", {"nginx_listen_port": "eighty"}, "nginx_listen_port", ["int"]),
    "nginx-gzip-not-bool": ("nginx", {"nginx_gzip": "maybe"}, "nginx_gzip", ["bool"]),
    "nginx-headers-not-dict": (
        "nginx",
        {"nginx_security_headers": ["X-A: b"]},
        "nginx_security_headers",
        ["dict"],
    ),
    # playbooks/web.yml: the last role's input is checked before the first role runs
    "web-bad-nginx": (
        "web.yml",
        {**APP, "nginx_listen_port": 70000},
        "nginx_listen_port",
        ["70000"],
    ),
    "web-bad-nginx-spec": ("web.yml", {**APP, "nginx_gzip": "maybe"}, "nginx_gzip", ["bool"]),
    "web-bad-app-spec": (
        "web.yml",
        {**APP, "django_app_gunicorn_worker_class": "eventlet"},
        "django_app_gunicorn_worker_class",
        ["eventlet"],
    ),
}


def role_variables(role: str) -> set[str]:
    spec = yaml.safe_load((ROLES / role / "meta/argument_specs.yml").read_text())
    return set(spec["argument_specs"]["main"]["options"])


def preflight_task_names(role: str) -> set[str]:
    def names(tasks):
        for task in tasks or []:
            yield task.get("name", "")
            yield from names(task.get("block"))

    return set(names(yaml.safe_load((ROLES / role / "tasks/preflight.yml").read_text())))


VARIABLES = role_variables("django_app") | role_variables("nginx")
INCLUDES = {"Apply the role under test", "Check every role's inputs before any change"}
ALLOWED_TASKS = (
    preflight_task_names("django_app")
    | preflight_task_names("nginx")
    | preflight_task_names("node_exporter")
    | INCLUDES
    | {"Gathering Facts"}
)


def run_case(playbook: str, extra: dict, inventory_extra: Path) -> subprocess.CompletedProcess:
    if playbook == "web.yml":
        path, extra_inventory = PROJECT / "playbooks/web.yml", ["-i", str(inventory_extra)]
    else:
        path, extra_inventory = SCENARIO / "bad_input.yml", []
        extra = {"bad_input_role": playbook, **APP, **extra}
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", os.environ["MOLECULE_INVENTORY_FILE"], *extra_inventory,
            "--limit", HOST, "--check",
            "-e", json.dumps(extra),
            str(path),
        ],
        capture_output=True, text=True, timeout=300, check=False,
        env={
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        },
    )  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("bad_input")
    # An artifact whose release.json names a wheel that is not there.
    wheel_missing = tmp / "wheel-missing"
    (wheel_missing / "wheelhouse").mkdir(parents=True)
    (wheel_missing / "requirements.lock").write_text("")
    (wheel_missing / "release.json").write_text(
        json.dumps({"release_id": "1.0-bad", "wheel": "missing_app-1.0-py3-none-any.whl"})
    )
    # web.yml's app play targets role_app: put the scenario's host in it.
    inventory = tmp / "role_app.yml"
    inventory.write_text(yaml.safe_dump({"role_app": {"hosts": {HOST: None}}}))
    fill = {"{wheel_missing}": str(wheel_missing)}
    cases = {
        case: (playbook, {k: fill.get(v, v) if isinstance(v, str) else v for k, v in extra.items()})
        for case, (playbook, extra, _, _) in CASES.items()
    }
    # Bounded parallelism: the machine is shared and each run is a full ansible-playbook.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {c: pool.submit(run_case, p, e, inventory) for c, (p, e) in cases.items()}
        return {case: future.result() for case, future in futures.items()}


def task_results(proc: subprocess.CompletedProcess) -> list[tuple[str, dict]]:
    """(task name, the host's result) of every task that ran on the host."""
    report = json.loads(proc.stdout)
    return [
        (task["task"]["name"].split(" : ", 1)[-1], task["hosts"][HOST])  # without "role : "
        for play in report["plays"]
        for task in play["tasks"]
        if HOST in task["hosts"]
    ]


def failure_messages(result: dict) -> list[str]:
    items = result.get("results") or [result]
    return [str(item.get("msg", "")) for item in items if item.get("failed")]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_before_any_change(results, case):
    proc = results[case]
    _, _, variable, expected = CASES[case]
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    ran = task_results(proc)
    failed = [(name, result) for name, result in ran if result.get("failed")]
    assert len(failed) == 1, f"exactly one failed task expected: {[n for n, _ in failed]}"
    # Only validation and preflight tasks ran, and none changed anything.
    for name, result in ran:
        assert name in ALLOWED_TASKS or name.startswith("Validating arguments against"), name
        assert not result.get("changed"), f"{name} changed the host"
    message = "\n".join(failure_messages(failed[0][1]))
    assert variable in message, message
    for text in expected:
        assert text in message, f"{text!r} not in {message!r}"
    unrelated = sorted(v for v in VARIABLES - {variable} if re.search(rf"\b{v}\b", message))
    assert not unrelated, f"the message names other variables {unrelated}: {message}"
    assert FAKE not in out, "a secret from the bad input was printed"
