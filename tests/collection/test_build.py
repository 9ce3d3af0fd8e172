"""The collection tarball: plain build (tests) and release build (links), read back.

scripts/build_collection.py builds from a staged copy; these tests build into tmp_path and
inspect the tarball's files and MANIFEST.json, and check that the repository is unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COLLECTION = REPO / "collections/ansible_collections/devops/django"
BUILD = REPO / "scripts/build_collection.py"
sys.path.insert(0, str(REPO / "scripts"))
from check_collection import check_tarball  # noqa: E402

LINKS = {
    "repository": "https://github.com/example-org/devops-django",
    "homepage": "https://github.com/example-org/devops-django#readme",
    "issues": "https://github.com/example-org/devops-django/issues",
    "documentation": "https://github.com/example-org/devops-django/tree/main/docs",
}


def build(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BUILD), "--output-path", str(out), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def read(tarball: Path) -> tuple[set[str], dict, dict[str, str]]:
    """Member names, MANIFEST.json's collection_info, and the text of a few files."""
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        texts = {
            n: tar.extractfile(n).read().decode()
            for n in ("MANIFEST.json", "CHANGELOG.rst", "LICENSE", "LICENSES/GPL-3.0-or-later.txt")
            if n in names
        }
    return names, json.loads(texts["MANIFEST.json"])["collection_info"], texts


def _repo_state() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", str(COLLECTION)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    before = _repo_state()
    out = tmp_path_factory.mktemp("plain")
    result = build(out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _repo_state() == before, "the build changed the repository (changelog, fragments?)"
    (tarball,) = out.glob("devops-django-*.tar.gz")
    return tarball


def test_plain_build_carries_licenses_and_changelog(plain):
    names, manifest, texts = read(plain)
    assert manifest["license"] == ["Apache-2.0", "GPL-3.0-or-later"]
    assert texts["LICENSE"].split()[:3] == ["Apache", "License", "Version"]
    assert "GNU GENERAL PUBLIC LICENSE" in texts["LICENSES/GPL-3.0-or-later.txt"]
    changelog = texts["CHANGELOG.rst"]
    assert f"\nv{manifest['version']}\n" in changelog
    for module in ("asg_processes", "resource_tags"):
        assert f"plugins/modules/{module}.py" in names
        assert f"devops.django.{module}" in changelog, "New Modules lists it"
    assert "purge_tags" in changelog, "this change's fragment is in the notes"
    assert not any("tests/output" in n or "__pycache__" in n for n in names)
    assert check_tarball(plain) == []


def test_plain_build_has_no_links(plain):
    _, manifest, _ = read(plain)
    for key in LINKS:
        assert not manifest.get(key), f"{key}: {manifest.get(key)}"


@pytest.mark.parametrize("missing", sorted(LINKS))
def test_release_refuses_a_missing_link_by_its_variable(tmp_path, missing):
    args = [f"--{k}={v}" for k, v in LINKS.items() if k != missing]
    result = build(tmp_path, "--release", *args)
    assert result.returncode != 0
    assert f"COLLECTION_{missing.upper()} is not set" in result.stderr, result.stderr
    assert not list(tmp_path.glob("*.tar.gz")), "nothing built"


def test_release_refuses_the_placeholder(tmp_path):
    links = {**LINKS, "repository": "https://example.invalid/devops-django"}
    result = build(tmp_path, "--release", *(f"--{k}={v}" for k, v in links.items()))
    assert result.returncode != 0 and "COLLECTION_REPOSITORY=" in result.stderr, result.stderr


def test_release_build_carries_the_links(tmp_path):
    result = build(tmp_path, "--release", *(f"--{k}={v}" for k, v in LINKS.items()))
    assert result.returncode == 0, result.stdout + result.stderr
    (tarball,) = tmp_path.glob("devops-django-*.tar.gz")
    _, manifest, _ = read(tarball)
    assert {k: manifest[k] for k in LINKS} == LINKS
    assert check_tarball(tarball, LINKS) == []
    assert check_tarball(tarball) != [], "a release tarball is not a plain one"


def test_check_tarball_names_what_is_missing(plain, tmp_path):
    """The checker fails a tarball without LICENSE or CHANGELOG.rst (so it can fail)."""
    broken = tmp_path / plain.name
    with tarfile.open(plain) as src, tarfile.open(broken, "w:gz") as dst:
        for member in src.getmembers():
            if member.name not in ("LICENSE", "CHANGELOG.rst"):
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    problems = check_tarball(broken)
    assert any("Apache-2.0" in p for p in problems), problems
    assert any("CHANGELOG.rst" in p for p in problems), problems
