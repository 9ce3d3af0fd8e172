"""django_app and nginx refuse bad input before any change, naming only the bad variable.

Each case (a row for the shared harness, tests/badinput.py) runs, in check mode against the
scenario's host, either one role alone (bad extra vars) or playbooks/web.yml (all the app
host's roles: the pre_tasks must check nginx before node_exporter or django_app change
anything). The JSON callback gives every task that ran: all must be validation or preflight
tasks, none changed, exactly one failed, and its message names the variable under test and
no other role variable.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
import yaml
from badinput import Result, assert_refused, case, role_variables, run_all, short_name, task_names

ARTIFACT = str(Path(os.environ.get("WEB_ARTIFACTS", "/nonexistent")) / "release-a")
FAKE = "molecule-fake-bad-input-password"
HOST = "web-host"
APP = {"django_app_artifact_dir": ARTIFACT}
app = partial(case, "django_app", host=HOST)
nginx = partial(case, "nginx", host=HOST)
play = partial(case, "web.yml", host=HOST)

# id -> app|nginx (the role alone) or play (playbooks/web.yml)(variable under test, bad extra
# vars, more text the failure message contains). "{wheel_missing}" is an artifact the fixture
# makes.
CASES = {
    # django_app preflight
    "app-name": app("django_app_name", {"django_app_name": "Bad Name"}, "'Bad Name'"),
    "app-base-dir": app("django_app_base_dir", {"django_app_base_dir": "srv/x"}, "'srv/x'"),
    "app-config-dir": app("django_app_config_dir", {"django_app_config_dir": "etc/x"}, "'etc/x'"),
    "app-socket": app("django_app_socket_path", {"django_app_socket_path": "x.sock"}, "'x.sock'"),
    "app-boot-env": app(
        "django_app_boot_env_file", {"django_app_boot_env_file": "boot.env"}, "'boot.env'"
    ),
    "app-keep-1": app("django_app_releases_keep", {"django_app_releases_keep": 1}, ">= 2", "got 1"),
    "app-wsgi": app(
        "django_app_wsgi_module", {"django_app_wsgi_module": "app/wsgi.py"}, "'app/wsgi.py'"
    ),
    "app-smoke-path": app(
        "django_app_smoke_path", {"django_app_smoke_path": "health/"}, "'health/'"
    ),
    "app-env-name": app("django_app_env", {"django_app_env": {"BAD-NAME": "x"}}, "'BAD-NAME'"),
    "app-secret-two-lines": app(
        "django_app_secret_env",
        {"django_app_secret_env": {"DB_PASSWORD": f"{FAKE}\nsecond line"}},
        "'DB_PASSWORD'",
        "one line",
    ),
    "app-ssm-name": app(
        "django_app_ssm_parameters", {"django_app_ssm_parameters": {"bad name": "/x"}}, "'bad name'"
    ),
    "app-secretsmanager-name": app(
        "django_app_secretsmanager_secrets",
        {"django_app_secretsmanager_secrets": {"1KEY": "x"}},
        "'1KEY'",
    ),
    "app-no-artifact": app(
        "django_app_artifact_dir",
        {"django_app_artifact_dir": "/nonexistent/app"},
        "no release.json",
    ),
    "app-wheel-missing": app(
        "django_app_artifact_dir",
        {"django_app_artifact_dir": "{wheel_missing}"},
        "'missing_app-1.0-py3-none-any.whl'",
        "not in wheelhouse/",
    ),
    # django_app argument spec
    "app-keep-not-int": app(
        "django_app_releases_keep", {"django_app_releases_keep": "three"}, "int"
    ),
    "app-worker-class": app(
        "django_app_gunicorn_worker_class",
        {"django_app_gunicorn_worker_class": "eventlet"},
        "eventlet",
    ),
    "app-env-not-dict": app("django_app_env", {"django_app_env": ["A=1"]}, "dict"),
    # nginx preflight
    "nginx-site-name": nginx("nginx_site_name", {"nginx_site_name": "my site"}, "'my site'"),
    "nginx-no-server-names": nginx("nginx_server_names", {"nginx_server_names": []}, "empty"),
    "nginx-server-name": nginx(
        "nginx_server_names", {"nginx_server_names": ["localhost", "a/b"]}, "a/b"
    ),
    "nginx-port-range": nginx("nginx_listen_port", {"nginx_listen_port": 70000}, "70000"),
    "nginx-static-url": nginx("nginx_static_url", {"nginx_static_url": "static"}, "'static'"),
    "nginx-static-root": nginx("nginx_static_root", {"nginx_static_root": "/srv/s"}, "'/srv/s'"),
    "nginx-static-fallback": nginx(
        "nginx_static_fallback_root",
        {"nginx_static_fallback_root": "previous/static/"},
        "'previous/static/'",
    ),
    "nginx-socket": nginx("nginx_upstream_socket", {"nginx_upstream_socket": "g.sock"}, "'g.sock'"),
    "nginx-health-path": nginx(
        "nginx_health_check_paths", {"nginx_health_check_paths": ["health/"]}, "health/"
    ),
    "nginx-metrics-path": nginx(
        "nginx_metrics_path", {"nginx_metrics_path": "metrics"}, "'metrics'"
    ),
    "nginx-header-quote": nginx(
        "nginx_security_headers", {"nginx_security_headers": {"X-Test": 'a"b'}}, "'X-Test'"
    ),
    "nginx-trusted-cidr": nginx(
        "nginx_trusted_proxy_cidrs",
        {"nginx_trusted_proxy_cidrs": ["alb.example.com"]},
        "'alb.example.com'",
    ),
    "nginx-monitoring-cidr": nginx(
        "nginx_monitoring_cidrs", {"nginx_monitoring_cidrs": ["any"]}, "'any'"
    ),
    # nginx argument spec
    "nginx-port-not-int": nginx("nginx_listen_port", {"nginx_listen_port": "eighty"}, "int"),
    "nginx-gzip-not-bool": nginx("nginx_gzip", {"nginx_gzip": "maybe"}, "bool"),
    "nginx-headers-not-dict": nginx(
        "nginx_security_headers", {"nginx_security_headers": ["X-A: b"]}, "dict"
    ),
    # playbooks/web.yml: the last role's input is checked before the first role runs
    "web-bad-nginx": play("nginx_listen_port", {**APP, "nginx_listen_port": 70000}, "70000"),
    "web-bad-nginx-spec": play("nginx_gzip", {**APP, "nginx_gzip": "maybe"}, "bool"),
    "web-bad-app-spec": play(
        "django_app_gunicorn_worker_class",
        {**APP, "django_app_gunicorn_worker_class": "eventlet"},
        "eventlet",
    ),
}


VARIABLES = role_variables("django_app", "nginx")
INCLUDES = {"Apply the role under test", "Check every role's inputs before any change"}
ALLOWED_TASKS = (
    task_names("django_app", "preflight.yml")
    | task_names("nginx", "preflight.yml")
    | task_names("node_exporter", "preflight.yml")
    | INCLUDES
    | {"Gathering Facts"}
)


def may_run(task: str) -> bool:
    """Only validation and preflight tasks may run before the refusal."""
    name = short_name(task)
    return name in ALLOWED_TASKS or name.startswith("Validating arguments against")


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Result]:
    tmp = tmp_path_factory.mktemp("bad_input")
    # An artifact whose release.json names a wheel that is not there.
    wheel_missing = tmp / "wheel-missing"
    (wheel_missing / "wheelhouse").mkdir(parents=True)
    (wheel_missing / "requirements.lock").write_text("")
    (wheel_missing / "release.json").write_text(
        json.dumps({"release_id": "1.0-bad", "wheel": "missing_app-1.0-py3-none-any.whl"})
    )
    # web.yml's app play targets role_app: put the scenario's host in it.
    role_app = tmp / "role_app.yml"
    role_app.write_text(yaml.safe_dump({"role_app": {"hosts": {HOST: None}}}))
    fill = {"{wheel_missing}": str(wheel_missing)}
    cases = {
        name: replace(
            c, vars={k: fill.get(v, v) if isinstance(v, str) else v for k, v in c.vars.items()}
        )
        for name, c in CASES.items()
    }
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return run_all(cases, inventory, "-i", str(role_app), base=APP)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_before_any_change(results, name):
    assert_refused(results[name], CASES[name], variables=VARIABLES, may_run=may_run, secrets=[FAKE])
