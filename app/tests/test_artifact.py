"""The release artifact installs on a host with no PyPI: wheelhouse complete, assets inside."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import APP_DIR, FAKE_SECRET, REPO

pytestmark = pytest.mark.artifact

SCRIPT = REPO / "scripts" / "app-artifact.sh"
RELEASE_ID = re.compile(r"^(?P<version>.+)-(?P<digest>[0-9a-f]{12})$")


def build(out: Path, *args: str) -> dict:
    result = subprocess.run(
        [str(SCRIPT), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((out / "release.json").read_text())


def wheel_digest(wheelhouse: Path) -> str:
    """The documented release id digest: sha256 over '<sha256>  <file>' lines, sorted by name."""
    lines = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
        for p in sorted(wheelhouse.glob("*.whl"), key=lambda p: p.name)
    )
    return hashlib.sha256(lines.encode()).hexdigest()[:12]


def pinned_names(lock: Path) -> set[str]:
    names = set()
    for raw in lock.read_text().splitlines():
        pin = raw.split("#", 1)[0].strip()
        if pin:
            names.add(re.sub(r"[-_.]+", "-", pin.split("==", 1)[0]).lower())
    return names


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("artifact")
    build(out)
    return out


@pytest.fixture(scope="module")
def host_venv(artifact, tmp_path_factory) -> Path:
    """A fresh venv with the release installed exactly as the django_app role does it."""
    venv = tmp_path_factory.mktemp("host") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    release = json.loads((artifact / "release.json").read_text())
    result = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(artifact / "wheelhouse"),
            "-r",
            str(artifact / "requirements.lock"),
            str(artifact / "wheelhouse" / release["wheel"]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return venv


def host_run(venv: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    # A host's environment: no source tree on sys.path, only the installed release.
    base = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(cwd)}
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_release_json_layout(artifact):
    release = json.loads((artifact / "release.json").read_text())
    assert set(release) == {"name", "version", "release_id", "wheel"}
    assert release["name"] == "django-sample-app"
    assert release["version"] == "0.1.0"
    assert release["wheel"] == "django_sample_app-0.1.0-py3-none-any.whl"
    match = RELEASE_ID.match(release["release_id"])
    assert match
    assert match["version"] == "0.1.0"
    assert match["digest"] == wheel_digest(artifact / "wheelhouse")
    assert (artifact / "wheelhouse" / release["wheel"]).is_file()
    assert (artifact / "requirements.lock").read_text() == (
        APP_DIR / "requirements.lock"
    ).read_text()


def test_wheelhouse_holds_exactly_the_pins_for_cpython_311(artifact):
    wheels = sorted((artifact / "wheelhouse").glob("*.whl"))
    names = {re.sub(r"[-_.]+", "-", w.name.split("-", 1)[0]).lower() for w in wheels}
    assert names == pinned_names(artifact / "requirements.lock") | {"django-sample-app"}
    for wheel in wheels:
        tags = wheel.name.removesuffix(".whl").split("-")[-3:]
        assert tags[0] in {"py3", "py2.py3", "cp311"}, wheel.name
        linux_x86_64 = "manylinux" in tags[2] and tags[2].endswith("x86_64")
        assert tags[2] == "any" or linux_x86_64, wheel.name


def test_installed_release_passes_check_and_ships_its_assets(host_venv, tmp_path):
    env = {"DJANGO_SECRET_KEY": FAKE_SECRET, "DJANGO_STATIC_ROOT": str(tmp_path / "static")}
    check = host_run(host_venv, "sampleapp-manage", "check", cwd=tmp_path, **env)
    assert check.returncode == 0, check.stderr
    assert "no issues" in check.stdout
    collect = host_run(
        host_venv, "sampleapp-manage", "collectstatic", "--noinput", cwd=tmp_path, **env
    )
    assert collect.returncode == 0, collect.stderr
    assert list((tmp_path / "static" / "notes").glob("notes.*.css")), "notes.css not in the wheel"
    code = (
        "import django; django.setup(); from django.template.loader import get_template; "
        "import sampleapp, gunicorn, psycopg; "
        "print(get_template('notes/note_list.html').origin.name); print(sampleapp.__file__)"
    )
    render = host_run(
        host_venv,
        "python",
        "-c",
        code,
        cwd=tmp_path,
        DJANGO_SETTINGS_MODULE="sampleapp.settings",
        **env,
    )
    assert render.returncode == 0, render.stderr
    assert all("site-packages" in line for line in render.stdout.splitlines()), render.stdout
    assert (host_venv / "bin" / "gunicorn").exists()


def test_installed_release_refuses_to_start_without_a_secret(host_venv, tmp_path):
    result = host_run(host_venv, "sampleapp-manage", "check", cwd=tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_release_id_is_reproducible_and_follows_the_version(artifact, tmp_path):
    again = build(tmp_path / "again")
    assert again == json.loads((artifact / "release.json").read_text())
    bumped = build(tmp_path / "bumped", "--version", "0.1.1")
    assert bumped["version"] == "0.1.1"
    assert bumped["wheel"] == "django_sample_app-0.1.1-py3-none-any.whl"
    assert bumped["release_id"].startswith("0.1.1-")
    assert bumped["release_id"] != again["release_id"]


def test_invalid_version_is_refused(tmp_path):
    result = subprocess.run(
        [str(SCRIPT), "--out", str(tmp_path), "--version", "1.x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "--version must be a PEP 440 version" in result.stderr
    assert not (tmp_path / "release.json").exists()
