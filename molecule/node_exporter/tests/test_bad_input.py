"""The role refuses bad input before any change, with a message naming the variable.

Each case (a row for the shared harness, tests/badinput.py) applies the role alone on the
controller (localhost, connection local, check mode, no facts) with bad extra vars: fast, and
no host of the scenario is touched. The JSON callback gives the failed task's message, so the
checks read that message alone.
"""

from __future__ import annotations

import os
import re
import sys
from functools import partial
from pathlib import Path

import pytest
from badinput import Result, assert_refused, case, role_variables, run_all, short_name

ROLE = "node_exporter"
VARIABLES = role_variables(ROLE)
FAKE = "molecule-fake-plain-password"
SHA = "0" * 64
# Files for the TLS cases: readable cert, key only root can read (mode 0600).
TLS_DIR = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "bad-input-tls"
CERT, KEY = TLS_DIR / "cert.pem", TLS_DIR / "key.pem"
bad = partial(case, ROLE)

# id -> case(role, variable the message names, bad extra vars, more text it contains,
# allowed=other variables it may name)
CASES = {
    "old-name": bad(
        "node_exporter_basic_auth_users",
        {"node_exporter_web_basic_auth_users": {}},
        "node_exporter_web_basic_auth_users is now node_exporter_basic_auth_users",
    ),
    "listen-without-port": bad(
        "node_exporter_web_listen_address",
        {"node_exporter_web_listen_address": "0.0.0.0"},  # noqa: S104 - bad input, never bound
        "got '0.0.0.0'",
    ),
    "listen-port-out-of-range": bad(
        "node_exporter_web_listen_address",
        {"node_exporter_web_listen_address": "127.0.0.1:70000"},
        "got '127.0.0.1:70000'",
    ),
    "unknown-install-method": bad(
        "node_exporter_install_method", {"node_exporter_install_method": "tarball"}, "tarball"
    ),
    "binary-without-checksum": bad(
        "node_exporter_binary_sha256",
        {"node_exporter_install_method": "binary"},
        allowed=["node_exporter_install_method"],
    ),
    "plain-password": bad(
        "node_exporter_basic_auth_users",
        {"node_exporter_basic_auth_users": {"prometheus": FAKE, "ok": "$2b$10$" + "x" * 53}},
        "not a bcrypt hash for: prometheus.",
    ),
    "tls-cert-without-key": bad(
        "node_exporter_web_tls_cert_file",
        {"node_exporter_web_tls_cert_file": "/etc/ssl/node_exporter/cert.pem"},
        "node_exporter_web_tls_key_file",
    ),
    "tls-files-missing": bad(
        "node_exporter_web_tls_cert_file",
        {
            "node_exporter_web_tls_cert_file": "/nonexistent/cert.pem",
            "node_exporter_web_tls_key_file": str(CERT),  # readable: only the cert is wrong
        },
        "node_exporter_web_tls_cert_file: '/nonexistent/cert.pem'",
        "does not exist",
    ),
    "tls-key-unreadable-by-service-user": bad(
        "node_exporter_web_tls_key_file",
        {"node_exporter_web_tls_cert_file": str(CERT), "node_exporter_web_tls_key_file": str(KEY)},
        "node-exp",
        "0600",
    ),
    "collector-without-name": bad(
        "node_exporter_enabled_collectors",
        {"node_exporter_enabled_collectors": [{"options": {"a": "b"}}]},
    ),
    "extra-args-not-a-list": bad(
        "node_exporter_extra_args", {"node_exporter_extra_args": {"log.level": "warn"}}, "list"
    ),
}

# Valid input in a play without facts, preflight only: must pass (argument-spec
# validation used to fail on the default binary URL's architecture).
GOOD = {
    "package-without-facts": bad("", {}),
    "binary-without-facts": bad(
        "", {"node_exporter_install_method": "binary", "node_exporter_binary_sha256": SHA}
    ),
}
# The controller has no sudo and runs as root: the role's become is not needed.
CONTROLLER = {"ansible_become": False, "ansible_python_interpreter": sys.executable}
LOCAL = ("--connection", "local")
# Tasks that change things: none may run before the refusal.
CHANGES = re.compile(r"(Install|Create|Write|Remove|Enable)")


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    TLS_DIR.mkdir(parents=True, exist_ok=True)
    CERT.write_text("not read: only its owner and mode are checked\n")
    CERT.chmod(0o644)
    KEY.write_text("not read either\n")
    KEY.chmod(0o600)
    preflight = ("--tags", "node_exporter_preflight")
    return run_all(CASES, "localhost,", *LOCAL, base=CONTROLLER) | run_all(
        GOOD, "localhost,", *LOCAL, *preflight, base=CONTROLLER
    )


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_naming_the_variable(results, name):
    # Stopped at the argument spec or a preflight check, before any task that changes things.
    assert_refused(
        results[name],
        CASES[name],
        variables=VARIABLES,
        never_run=lambda task: bool(CHANGES.match(short_name(task))),
        secrets=[FAKE],
    )


@pytest.mark.parametrize("name", list(GOOD))
def test_valid_input_passes_validation_without_facts(results, name):
    result = results[name]
    assert result.returncode == 0, result.tail()
    assert result.stats["failures"] == 0, result.stats
    ran = {short_name(task) for task, r in result.tasks if not r.get("skipped")}
    assert "Check what the argument spec cannot" in ran, ran  # the preflight did run
    # The binary method's default URL needs the architecture: preflight gathers it.
    assert ("Gather the architecture for the binary URL" in ran) == (name == "binary-without-facts")
