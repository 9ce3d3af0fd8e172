"""Both roles refuse bad input before touching a host, with a message naming the variable.

Each case runs bad_input.yml (one role, bad extra vars) in check mode against the
scenario's own host for that role; the runs go in parallel (they are independent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
PLAYBOOK = PROJECT / "molecule/lb_db/bad_input.yml"
BACKENDS = [{"name": "app1", "address": "192.0.2.10"}]  # TEST-NET: never contacted
FAKE = "molecule-fake-bad-input-password"

# id -> (role, host, extra vars, strings the failure message must contain)
CASES = {
    "lb-port-not-int": (
        "local_lb",
        "lb_db-lb",
        {"local_lb_backends": BACKENDS, "local_lb_frontend_port": "eighty"},
        ["local_lb_frontend_port", "int"],
    ),
    "lb-backend-without-address": (
        "local_lb",
        "lb_db-lb",
        {"local_lb_backends": [{"name": "app1"}]},
        ["local_lb_backends", "address"],
    ),
    "lb-no-backends": (
        "local_lb",
        "lb_db-lb",
        {"local_lb_backends": []},
        ["local_lb_backends must list at least one host", "got 0 backends"],
    ),
    "lb-timeout-not-below-interval": (
        "local_lb",
        "lb_db-lb",
        {
            "local_lb_backends": BACKENDS,
            "local_lb_health_check_interval": 2,
            "local_lb_health_check_timeout": 2,
        },
        ["local_lb_health_check_timeout must be below", "timeout 2, interval 2"],
    ),
    "lb-bad-matcher": (
        "local_lb",
        "lb_db-lb",
        {"local_lb_backends": BACKENDS, "local_lb_health_check_matcher": "2xx"},
        ["local_lb_health_check_matcher", "matcher '2xx'"],
    ),
    "pg-user-without-password": (
        "postgresql",
        "lb_db-db",
        {"postgresql_users": [{"name": "app_admin"}]},
        ["postgresql_users", "password"],
    ),
    "pg-user-unknown-option": (
        "postgresql",
        "lb_db-db",
        {"postgresql_users": [{"name": "app_admin", "password": FAKE, "superuser": True}]},
        ["postgresql_users", "superuser"],
    ),
    "pg-cidr-without-prefix": (
        "postgresql",
        "lb_db-db",
        {"postgresql_allowed_cidrs": ["10.0.0.0"]},
        ["postgresql_allowed_cidrs", "'10.0.0.0' is not a CIDR"],
    ),
    "pg-port-not-int": (
        "postgresql",
        "lb_db-db",
        {"postgresql_port": "fivefourthreetwo"},
        ["postgresql_port", "int"],
    ),
}


def run_case(role: str, limit: str, extra: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", os.environ["MOLECULE_INVENTORY_FILE"],
            "--limit", limit, "--check",
            "-e", json.dumps({"bad_input_role": role, **extra}),
            str(PLAYBOOK),
        ],
        capture_output=True, text=True, timeout=240, check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections")},
    )  # fmt: skip


@pytest.fixture(scope="module")
def results() -> dict[str, subprocess.CompletedProcess]:
    with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
        futures = {
            case: pool.submit(run_case, role, limit, extra)
            for case, (role, limit, extra, _) in CASES.items()
        }
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_naming_the_variable(results, case):
    proc = results[case]
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    recap = out.split("PLAY RECAP")[-1]
    assert "failed=1" in recap, out[-3000:]
    # Stopped at the argument spec or the preflight assert, before installing anything.
    assert f"devops.django.{CASES[case][0]} : Install" not in out, out[-3000:]
    for expected in CASES[case][3]:
        assert expected in out, f"{expected!r} not in:\n{out[-3000:]}"
    assert FAKE not in out, "a password from the bad input was printed"
