"""Fixtures for the app tests: collected static files, subprocess Django, a real gunicorn."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

APP_DIR = Path(__file__).resolve().parent.parent
REPO = APP_DIR.parent
VENV_BIN = Path(sys.executable).parent
FAKE_SECRET = "test-only-fake-secret-key-not-used-anywhere"  # noqa: S105 - fake on purpose


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port_url() -> str:
    """A DATABASE_URL at a loopback port where nothing listens."""
    return f"postgres://nobody:fake-password@127.0.0.1:{free_port()}/nothing"


def django_env(**overrides: str | None) -> dict[str, str]:
    """Environment for a subprocess that loads the real `sampleapp.settings` from app/."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DB_", "PROMETHEUS_"))
        and key not in {"DATABASE_URL", "APP_RELEASE", "ALLOWED_HOSTS", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "sampleapp.settings",
            "DJANGO_SECRET_KEY": FAKE_SECRET,
            "PYTHONPATH": str(APP_DIR),
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def current_db_url() -> str:
    """The URL of the database pytest-django created for this run."""
    db = connection.settings_dict
    return (
        f"postgres://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
        f"@{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"
    )


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=APP_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session", autouse=True)
def collected_static(tmp_path_factory):
    """collectstatic into a temporary STATIC_ROOT so hashed names resolve, as in production."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=str(root)):
        call_command("collectstatic", "--noinput", verbosity=0)
        yield root


def loopback_request(method, url, timeout, data=None, headers=None):
    """(status, headers, body) from a server of ours on 127.0.0.1; nothing else is reachable."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"tests only talk to 127.0.0.1, not {url}")
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)  # noqa: S310 - loopback http only, checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@dataclass
class Server:
    url: str
    stdout: Path
    stderr: Path

    def get(self, path: str, timeout: float = 10, headers: dict | None = None):
        """(status, headers, body bytes) for a GET; HTTP errors are answers, not exceptions."""
        return loopback_request("GET", self.url + path, timeout, headers=headers)

    def post_json(self, path: str, payload: dict, timeout: float = 10):
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        return loopback_request("POST", self.url + path, timeout, data=body, headers=headers)

    def logs(self) -> str:
        return self.stdout.read_text() + "\n--- stderr ---\n" + self.stderr.read_text()


@pytest.fixture
def gunicorn(tmp_path):
    """Start gunicorn (the production WSGI server) on 127.0.0.1 with the given environment."""
    started: list[subprocess.Popen] = []

    def start(workers: int = 2, args: tuple[str, ...] = (), **env_overrides: str | None) -> Server:
        port = free_port()
        out, err = tmp_path / f"gunicorn-{port}.out", tmp_path / f"gunicorn-{port}.err"
        env = django_env(**env_overrides)
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                [
                    str(VENV_BIN / "gunicorn"),
                    "--config",
                    str(APP_DIR / "tests" / "gunicorn_test_conf.py"),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(workers),
                    "--timeout",
                    "30",
                    *args,
                    "sampleapp.wsgi:application",
                ],
                cwd=APP_DIR,
                env=env,
                stdout=stdout,
                stderr=stderr,
            )
        started.append(proc)
        server = Server(f"http://127.0.0.1:{port}", out, err)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {proc.returncode}:\n{server.logs()}")
            with contextlib.suppress(OSError):
                if server.get("/health/", timeout=2)[0] == 200:
                    return server
            time.sleep(0.2)
        pytest.fail(f"gunicorn did not answer /health/ within 30s:\n{server.logs()}")
        return server  # unreachable: pytest.fail raises

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
