"""The role refuses bad input before any change, with a message naming the variable.

Each case runs bad_input.yml on the controller (localhost, connection local, check mode,
no facts) with bad extra vars: fast, and no host of the scenario is touched. The JSON
callback gives the failed task's message, so the checks read that message alone.
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
PLAYBOOK = PROJECT / "molecule/node_exporter/bad_input.yml"
ROLE = PROJECT / "collections/ansible_collections/devops/django/roles/node_exporter"
VARIABLES = sorted(
    yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())["argument_specs"]["main"][
        "options"
    ]
)
FAKE = "molecule-fake-plain-password"
SHA = "0" * 64
# Files for the TLS cases: readable cert, key only root can read (mode 0600).
TLS_DIR = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "bad-input-tls"
CERT, KEY = TLS_DIR / "cert.pem", TLS_DIR / "key.pem"

# id -> (extra vars, strings the message must contain, other variables it may name)
CASES = {
    "listen-without-port": (
        {"node_exporter_listen_address": "0.0.0.0"},  # noqa: S104 - bad input, never bound
        ["node_exporter_listen_address", "got '0.0.0.0'"],
        [],
    ),
    "listen-port-out-of-range": (
        {"node_exporter_listen_address": "127.0.0.1:70000"},
        ["node_exporter_listen_address", "got '127.0.0.1:70000'"],
        [],
    ),
    "unknown-install-method": (
        {"node_exporter_install_method": "tarball"},
        ["node_exporter_install_method", "tarball"],
        [],
    ),
    "binary-without-checksum": (
        {"node_exporter_install_method": "binary"},
        ["node_exporter_binary_sha256"],
        ["node_exporter_install_method"],
    ),
    "plain-password": (
        {"node_exporter_web_basic_auth_users": {"prometheus": FAKE, "ok": "$2b$10$" + "x" * 53}},
        ["node_exporter_web_basic_auth_users", "not a bcrypt hash for: prometheus."],
        [],
    ),
    "tls-cert-without-key": (
        {"node_exporter_web_tls_cert_file": "/etc/ssl/node_exporter/cert.pem"},
        ["node_exporter_web_tls_cert_file", "node_exporter_web_tls_key_file"],
        [],
    ),
    "tls-files-missing": (
        {
            "node_exporter_web_tls_cert_file": "/nonexistent/cert.pem",
            "node_exporter_web_tls_key_file": str(CERT),  # readable: only the cert is wrong
        },
        ["node_exporter_web_tls_cert_file: '/nonexistent/cert.pem'", "does not exist"],
        [],
    ),
    "tls-key-unreadable-by-service-user": (
        {"node_exporter_web_tls_cert_file": str(CERT), "node_exporter_web_tls_key_file": str(KEY)},
        ["node_exporter_web_tls_key_file", "node-exp", "0600"],
        [],
    ),
    "collector-without-name": (
        {"node_exporter_enabled_collectors": [{"options": {"a": "b"}}]},
        ["node_exporter_enabled_collectors"],
        [],
    ),
    "extra-args-not-a-list": (
        {"node_exporter_extra_args": {"log.level": "warn"}},
        ["node_exporter_extra_args", "list"],
        [],
    ),
}

# Valid input in a play without facts, preflight only: must pass (argument-spec
# validation used to fail on the default binary URL's architecture).
GOOD = {
    "package-without-facts": {},
    "binary-without-facts": {
        "node_exporter_install_method": "binary",
        "node_exporter_binary_sha256": SHA,
    },
}


def run_playbook(extra: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "--check",
            # The controller has no sudo and runs as root: the role's become is not needed.
            "-e", json.dumps({"ansible_become": False}),
            "-e", json.dumps({"ansible_python_interpreter": sys.executable}),
            "-e", json.dumps(extra),
            *args, str(PLAYBOOK),
        ],
        capture_output=True, text=True, timeout=240, check=False,
        env={
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        },
    )  # fmt: skip


def failed_messages(report: dict) -> tuple[list[str], list[str]]:
    """(names of the tasks that ran, messages of failed results and failed loop items)."""
    names, messages = [], []
    for task in report["plays"][0]["tasks"]:
        names.append(task["task"]["name"].split(" : ")[-1])  # without the role prefix
        result = task["hosts"].get("localhost", {})
        for item in [result, *result.get("results", [])]:
            if item.get("failed"):
                messages.append(str(item.get("msg", "")))
    return names, messages


@pytest.fixture(scope="module")
def results() -> dict[str, subprocess.CompletedProcess]:
    TLS_DIR.mkdir(parents=True, exist_ok=True)
    CERT.write_text("not read: only its owner and mode are checked\n")
    CERT.chmod(0o644)
    KEY.write_text("not read either\n")
    KEY.chmod(0o600)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case: pool.submit(run_playbook, extra) for case, (extra, _, _) in CASES.items()}
        futures |= {
            case: pool.submit(run_playbook, extra, "--tags", "node_exporter_preflight")
            for case, extra in GOOD.items()
        }
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_naming_the_variable(results, case):
    proc = results[case]
    assert proc.returncode != 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["stats"]["localhost"]["failures"] == 1, report["stats"]
    assert report["stats"]["localhost"]["changed"] == 0, report["stats"]
    names, messages = failed_messages(report)
    # Stopped at the argument spec or a preflight check, before any task that changes things.
    assert not [n for n in names if re.match(r"(Install|Create|Write|Remove|Enable)", n)], names
    message = "\n".join(messages)
    _, expected, allowed = CASES[case]
    for text in expected:
        assert text in message, f"{text!r} not in: {message}"
    unrelated = [
        name
        for name in VARIABLES
        if re.search(rf"\b{name}\b", message)
        and name not in allowed
        and not any(name in text for text in expected)
    ]
    assert not unrelated, f"message names unrelated variables {unrelated}: {message}"
    assert FAKE not in proc.stdout + proc.stderr, "a password from the bad input was printed"


@pytest.mark.parametrize("case", list(GOOD))
def test_valid_input_passes_validation_without_facts(results, case):
    proc = results[case]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["stats"]["localhost"]["failures"] == 0, report["stats"]
    ran = {
        task["task"]["name"].split(" : ")[-1]
        for task in report["plays"][0]["tasks"]
        if not task["hosts"]["localhost"].get("skipped")
    }
    assert "Check what the argument spec cannot" in ran, ran  # the preflight did run
    # The binary method's default URL needs the architecture: preflight gathers it.
    assert ("Gather the architecture for the binary URL" in ran) == (case == "binary-without-facts")
