"""Shared fixtures: a moto server on 127.0.0.1 and the environment that points at it.

Every AWS test in this repository talks to this server only. Credentials are fake.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing-fake-access-key",
    "AWS_SECRET_ACCESS_KEY": "testing-fake-secret-key",
    "AWS_SESSION_TOKEN": "testing-fake-session-token",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - http://127.0.0.1 only
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"moto server did not answer at {url} within {timeout}s")


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory) -> str:
    """Start `moto_server` on 127.0.0.1 for the whole session; yield its URL."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {**os.environ, **FAKE_CREDENTIALS, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/moto-api/")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def aws_env(moto_endpoint) -> dict[str, str]:
    """Environment for boto3 and ansible-playbook runs against the moto server."""
    env = {
        **os.environ,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("AWS_PROFILE", None)
    return env


@pytest.fixture(scope="session")
def boto_session(aws_env):
    """A boto3 session bound to the moto server; use `.client(name)`."""

    class _Session:
        def client(self, name: str):
            return boto3.client(
                name,
                endpoint_url=aws_env["AWS_ENDPOINT_URL"],
                region_name=aws_env["AWS_DEFAULT_REGION"],
                aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=aws_env["AWS_SESSION_TOKEN"],
            )

    return _Session()
