"""django_app's environment file: sources, precedence, quoting, and the AWS lookups.

Renders the role's configure tasks on the controller against a throwaway moto server on
127.0.0.1 (fake credentials), so the SSM / Secrets Manager lookup calls run for real.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
FAKE = {
    "AWS_ACCESS_KEY_ID": "testing-fake-access-key",
    "AWS_SECRET_ACCESS_KEY": "testing-fake-secret-key",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@pytest.fixture(scope="module")
def moto():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2)  # noqa: S310 - local moto only
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def render(tmp_path: Path, moto_url: str, extra: dict) -> dict[str, str]:
    variables = {
        "django_app_config_dir": str(tmp_path),
        "django_app_group": "root",
        "django_app_aws_endpoint_url": moto_url,
        "django_app_aws_region": "eu-west-1",
        "ansible_python_interpreter": sys.executable,
        **extra,
    }
    env = {
        **os.environ,
        **FAKE,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    proc = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            str(Path(__file__).parent / "env_file.yml"),
            "-e",
            json.dumps(variables),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "s3cr3t" not in proc.stdout + proc.stderr, "secret values must never reach the output"
    envfile = tmp_path / "env"
    assert oct(envfile.stat().st_mode & 0o777) == "0o640"
    lines = [line for line in envfile.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_sources_precedence_and_quoting(tmp_path, moto):
    ssm = boto3.client(
        "ssm",
        endpoint_url=moto,
        **{k.lower(): v for k, v in FAKE.items() if k != "AWS_DEFAULT_REGION"},
        region_name="eu-west-1",
    )
    ssm.put_parameter(
        Name="/web-test/database_url", Value="postgres://u:ssm-s3cr3t@db/app", Type="SecureString"
    )
    ssm.put_parameter(Name="/web-test/overridden", Value="from-ssm", Type="String")
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=moto,
        region_name="eu-west-1",
        aws_access_key_id=FAKE["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE["AWS_SECRET_ACCESS_KEY"],
    )
    sm.create_secret(Name="web-test/secret_key", SecretString='sm-s3cr3t-"quoted"-$dollar')

    env = render(
        tmp_path,
        moto,
        {
            "django_app_env": {
                "ALLOWED_HOSTS": "a.example,b.example",
                "OVERRIDDEN": "from-env",
                "TRICKY": 'a\\b "c" $d `e`',
            },
            "django_app_ssm_parameters": {
                "DATABASE_URL": "/web-test/database_url",
                "OVERRIDDEN": "/web-test/overridden",
            },
            "django_app_secretsmanager_secrets": {"DJANGO_SECRET_KEY": "web-test/secret_key"},
            "django_app_secret_env": {"DB_PASSWORD": "vault-s3cr3t"},
        },
    )
    assert env["DJANGO_SETTINGS_MODULE"] == '"sampleapp.settings"'
    assert env["ALLOWED_HOSTS"] == '"a.example,b.example"'
    assert env["DATABASE_URL"] == '"postgres://u:ssm-s3cr3t@db/app"', "SecureString decrypted"
    assert env["OVERRIDDEN"] == '"from-ssm"', "SSM wins over django_app_env"
    assert env["DJANGO_SECRET_KEY"] == '"sm-s3cr3t-\\"quoted\\"-\\$dollar"'  # noqa: S105 - fake
    assert env["DB_PASSWORD"] == '"vault-s3cr3t"'  # noqa: S105 - fake test value
    assert env["TRICKY"] == '"a\\\\b \\"c\\" \\$d \\`e\\`"'


def test_no_lookups_without_maps(tmp_path, moto):
    env = render(tmp_path, "http://127.0.0.1:9", {"django_app_env": {"ONLY": "plain"}})
    assert env == {"DJANGO_SETTINGS_MODULE": '"sampleapp.settings"', "ONLY": '"plain"'}
