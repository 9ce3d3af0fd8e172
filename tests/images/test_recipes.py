"""The host image chain's recipe hashes and its consumers (no Docker).

scripts/images.sh tags each stage with the hash of its recipe and rebuilds a stage only
when that hash changes: so the hash must move with every input of the stage (and the
packages stage with the base's), and only then.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
IMAGES_SH = REPO / "scripts/images.sh"
STAGES = ("base", "packages")
# Where each consumer's image comes from; only the installation scenario starts bare.
CONSUMERS = {
    ".config/molecule/config.yml": "packages",
    "molecule/lb_db/molecule.yml": "packages",
    "molecule/monitoring/molecule.yml": "packages",
    "molecule/node_exporter/molecule.yml": "base",
    "scripts/local.sh": "packages",
    "tests/cfn/test_signal_script.py": "base",
}
# How consumers spell "the release the run is for" (12 unless DEBIAN_RELEASE says otherwise).
RELEASE_PLACEHOLDERS = ("${DEBIAN_RELEASE:-12}", "{os.environ.get('DEBIAN_RELEASE', '12')}")
IMAGE_REF = re.compile(r"(?<![\w./])devops-django/[^\s\"'`)}]+")


def images_sh(*args: str, recipes: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DEBIAN_RELEASE"}
    if recipes is not None:
        env["IMAGES_RECIPES"] = str(recipes)
    done = subprocess.run(
        ["bash", str(IMAGES_SH), *args], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def hashes(recipes: Path | None = None, release: str = "12") -> dict[str, str]:
    return {s: images_sh("hash", "--release", release, s, recipes=recipes) for s in STAGES}


@pytest.fixture
def recipes(tmp_path: Path) -> Path:
    copy = tmp_path / "images"
    shutil.copytree(REPO / "images", copy)
    return copy


def test_hashes_are_stable_and_per_stage():
    first, second = hashes(), hashes()
    assert first == second
    assert re.fullmatch(r"[0-9a-f]{16}", first["base"]), first
    assert first["base"] != first["packages"]


def test_a_copy_of_the_recipes_hashes_the_same(recipes: Path):
    assert hashes(recipes) == hashes()


def test_package_list_change_rebuilds_the_packages_stage_only(recipes: Path):
    before = hashes(recipes)
    packages = recipes / "packages/packages.txt"
    packages.write_text(packages.read_text() + "curl\n")
    after = hashes(recipes)
    assert after["base"] == before["base"]
    assert after["packages"] != before["packages"]


def test_base_change_rebuilds_both_stages(recipes: Path):
    before = hashes(recipes)
    dockerfile = recipes / "base/Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN true\n")
    after = hashes(recipes)
    assert after["base"] != before["base"]
    assert after["packages"] != before["packages"]


def test_each_release_has_its_own_chain():
    twelve, thirteen = hashes(release="12"), hashes(release="13")
    assert twelve["base"] != thirteen["base"]
    assert twelve["packages"] != thirteen["packages"]
    assert (
        images_sh("name", "--release", "13", "packages") == "devops-django/debian13-packages:latest"
    )


def test_unknown_release_is_refused():
    done = subprocess.run(
        ["bash", str(IMAGES_SH), "hash", "--release", "11"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown Debian release '11'" in done.stderr


def test_package_list_names_what_the_roles_install():
    listed = {
        line.split("#")[0].strip()
        for line in (REPO / "images/packages/packages.txt").read_text().splitlines()
    } - {""}
    roles = REPO / "collections/ansible_collections/devops/django/roles"
    defaults = {
        name: yaml.safe_load((roles / name / "defaults/main.yml").read_text())
        for name in ("django_app", "nginx", "node_exporter", "prometheus")
    }
    expected = {
        *defaults["django_app"]["django_app_system_packages"],
        defaults["nginx"]["nginx_package_name"],
        defaults["node_exporter"]["node_exporter_package_name"],
        defaults["prometheus"]["prometheus_package_name"],
        defaults["prometheus"]["prometheus_alertmanager_package_name"],
        "haproxy",  # local_lb
        "python3-psycopg2",  # postgresql
        "postgresql",  # postgresql (its default server version), web and monitoring prepare
    }
    assert expected <= listed, expected - listed


def image_refs(text: str) -> set[str]:
    for placeholder in RELEASE_PLACEHOLDERS:
        text = text.replace(placeholder, "12")
    return set(IMAGE_REF.findall(text))


def test_every_consumer_names_its_chain_image():
    names = {stage: images_sh("name", "--release", "12", stage) for stage in STAGES}
    for path, stage in CONSUMERS.items():
        assert image_refs((REPO / path).read_text()) == {names[stage]}, path


def test_no_other_image_name_anywhere():
    names = {images_sh("name", "--release", "12", stage) for stage in STAGES}
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    # Code and docs/ (scripts/images.sh defines the names; the README is prose for newcomers;
    # tests/images names other releases' chains on purpose).
    scanned = [
        p
        for p in tracked
        if p != "scripts/images.sh"
        and not p.startswith("tests/images/")
        and (p.startswith("docs/") or not p.endswith(".md"))
    ]
    stray = {}
    for path in scanned:
        try:
            text = (REPO / path).read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        if refs := image_refs(text) - names:
            stray[path] = refs
    assert not stray, stray


def test_only_the_installation_scenario_starts_bare():
    base = images_sh("name", "--release", "12", "base")
    bare = []
    for molecule_yml in sorted((REPO / "molecule").glob("*/molecule.yml")):
        platforms = yaml.safe_load(molecule_yml.read_text()).get("platforms", [])
        for platform in platforms:
            assert image_refs(platform["image"]), f"{molecule_yml}: {platform['name']}"
            if image_refs(platform["image"]) == {base}:
                bare.append(molecule_yml.parent.name)
    assert set(bare) == {"node_exporter"}, bare
