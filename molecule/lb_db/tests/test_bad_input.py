"""Both roles refuse bad input before touching a host, with a message naming the variable.

Each case (a row for the shared harness, tests/badinput.py) applies one role alone, in check
mode, against the scenario's own host for that role; the runs go in parallel (they are
independent).
"""

from __future__ import annotations

import os
from functools import partial

import pytest
from badinput import Result, assert_refused, case, run_all, short_name

BACKENDS = [{"name": "app1", "address": "192.0.2.10"}]  # TEST-NET: never contacted
FAKE = "molecule-fake-bad-input-password"
lb = partial(case, "local_lb", host="lb_db-lb")
pg = partial(case, "postgresql", host="lb_db-db")

# id -> case(role, variable the message names, bad extra vars, more text it contains)
CASES = {
    "lb-port-not-int": lb(
        "local_lb_frontend_port",
        {"local_lb_backends": BACKENDS, "local_lb_frontend_port": "eighty"},
        "int",
    ),
    "lb-backend-without-address": lb(
        "local_lb_backends", {"local_lb_backends": [{"name": "app1"}]}, "address"
    ),
    "lb-no-backends": lb(
        "local_lb_backends",
        {"local_lb_backends": []},
        "local_lb_backends must list at least one host",
        "got 0 backends",
    ),
    "lb-timeout-not-below-interval": lb(
        "local_lb_health_check_timeout",
        {
            "local_lb_backends": BACKENDS,
            "local_lb_health_check_interval": 2,
            "local_lb_health_check_timeout": 2,
        },
        "local_lb_health_check_timeout must be below",
        "timeout 2, interval 2",
    ),
    "lb-bad-matcher": lb(
        "local_lb_health_check_matcher",
        {"local_lb_backends": BACKENDS, "local_lb_health_check_matcher": "2xx"},
        "matcher '2xx'",
    ),
    "pg-user-without-password": pg(
        "postgresql_users", {"postgresql_users": [{"name": "app_admin"}]}, "password"
    ),
    "pg-user-unknown-option": pg(
        "postgresql_users",
        {"postgresql_users": [{"name": "app_admin", "password": FAKE, "superuser": True}]},
        "superuser",
    ),
    "pg-cidr-without-prefix": pg(
        "postgresql_allowed_cidrs",
        {"postgresql_allowed_cidrs": ["10.0.0.0"]},
        "'10.0.0.0' is not a CIDR",
    ),
    "pg-port-not-int": pg("postgresql_port", {"postgresql_port": "fivefourthreetwo"}, "int"),
}


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    return run_all(CASES, os.environ["MOLECULE_INVENTORY_FILE"], workers=len(CASES))


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_naming_the_variable(results, name):
    bad = CASES[name]
    # Stopped at the argument spec or the preflight assert, before installing anything.
    assert_refused(
        results[name],
        bad,
        never_run=lambda task: bad.target in task and short_name(task).startswith("Install"),
        secrets=[FAKE],
    )
