"""The built host image chain: cached by recipe, the packages stage on top of the base,
every listed package installed there and none of their services enabled."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
IMAGES_SH = REPO / "scripts/images.sh"
LISTED = sorted(
    {
        line.split("#")[0].strip()
        for line in (REPO / "images/packages/packages.txt").read_text().splitlines()
    }
    - {""}
)


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def inspect(image: str) -> dict:
    return json.loads(run("docker", "image", "inspect", image))[0]


@pytest.fixture(scope="module")
def chain() -> dict[str, str]:
    run("bash", str(IMAGES_SH), "--release", "12")  # builds only what is missing
    return {
        stage: run("bash", str(IMAGES_SH), "hash", "--release", "12", stage).strip()
        for stage in ("base", "packages")
    }


def test_second_run_changes_nothing(chain: dict[str, str]):
    before = {s: inspect(f"devops-django/debian12-{s}:latest")["Id"] for s in chain}
    out = run("bash", str(IMAGES_SH), "--release", "12")
    assert out.splitlines() == [
        f"image devops-django/debian12-{s}:{h} up to date" for s, h in chain.items()
    ]
    assert {s: inspect(f"devops-django/debian12-{s}:latest")["Id"] for s in chain} == before


def test_latest_is_the_current_recipe(chain: dict[str, str]):
    for stage, recipe in chain.items():
        image = inspect(f"devops-django/debian12-{stage}:latest")
        assert image["Config"]["Labels"]["org.devops-django.recipe"] == recipe
        assert f"devops-django/debian12-{stage}:{recipe}" in image["RepoTags"]


def test_packages_stage_is_built_on_the_base(chain: dict[str, str]):
    base = inspect(f"devops-django/debian12-base:{chain['base']}")["RootFS"]["Layers"]
    packages = inspect(f"devops-django/debian12-packages:{chain['packages']}")["RootFS"]["Layers"]
    assert packages[: len(base)] == base
    assert len(packages) > len(base)


def dpkg_installed(image: str) -> set[str]:
    out = run("docker", "run", "--rm", image, "dpkg-query", "-W", "-f", "${Package} ${Status}\\n")
    return {line.split()[0] for line in out.splitlines() if line.endswith(" installed")}


def test_packages_are_preinstalled_and_the_base_is_bare():
    assert set(LISTED) <= dpkg_installed("devops-django/debian12-packages:latest")
    on_base = set(LISTED) & dpkg_installed("devops-django/debian12-base:latest")
    assert on_base == set(), on_base


def test_no_package_service_is_enabled_and_apt_lists_are_empty():
    script = (
        "systemctl is-enabled nginx postgresql haproxy prometheus prometheus-alertmanager"
        " prometheus-node-exporter || true; ls -A /var/lib/apt/lists; stat -c %Y /var/lib/apt/lists"
    )
    out = run("docker", "run", "--rm", "devops-django/debian12-packages:latest", "sh", "-c", script)
    *states, mtime = out.split()
    assert states == ["disabled"] * 6, out
    assert mtime == "0", "the lists must look stale, so apt refreshes them before an install"
