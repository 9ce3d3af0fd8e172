#!/usr/bin/env python3
"""Keep the collection's metadata true to its content.

- galaxy.yml's readme exists;
- every collection the roles, playbooks and plugins call by FQCN (other than
  ansible.builtin and devops.django itself) is a dependency in galaxy.yml and in
  requirements.yml (for users who install from Galaxy);
- galaxy.yml carries no placeholder link (the release build sets them);
- the collection README lists every role (a link to its README) and every module (a table
  row naming its FQCN).

With --tarball PATH: the built tarball (scripts/build_collection.py) carries the license
texts galaxy.yml declares, the changelog of its version with every module, the readme and
runtime metadata, no test output or caches, and the release links only when built for one
(--links repository=URL ... for a release tarball).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tarfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
COLLECTION = REPO / "collections/ansible_collections/devops/django"
SELF = {"ansible.builtin", "devops.django"}
# A task key or a module_utils import naming a module: `  namespace.collection.module:`.
FQCN = re.compile(
    r"^\s*-?\s*([a-z_]+\.[a-z_]+)\.[a-z_0-9]+:\s*$|ansible_collections\.([a-z_]+)\.([a-z_]+)\.",
    re.M,
)


def used_collections() -> dict[str, str]:
    used: dict[str, str] = {}
    sources = [*COLLECTION.glob("roles/*/tasks/*.yml"), *COLLECTION.glob("roles/*/handlers/*.yml")]
    sources += [*(REPO / "playbooks").rglob("*.yml"), *COLLECTION.glob("plugins/**/*.py")]
    for path in sources:
        for match in FQCN.finditer(path.read_text()):
            name = match.group(1) or f"{match.group(2)}.{match.group(3)}"
            if name not in SELF:
                used.setdefault(name, str(path.relative_to(REPO)))
    return used


# The license each galaxy.yml license id needs in the tarball: (file, words its text starts with).
LICENSE_FILES = {
    "Apache-2.0": ("LICENSE", "Apache License Version 2.0"),
    "GPL-3.0-or-later": ("LICENSES/GPL-3.0-or-later.txt", "GNU GENERAL PUBLIC LICENSE Version 3"),
}
LINK_KEYS = ("repository", "homepage", "issues", "documentation")
NOT_SHIPPED = re.compile(
    r"(^|/)(__pycache__|\.pytest_cache|\.plugin-cache\.yaml)(/|$)|^tests/output(/|$)"
)
MODULE = re.compile(r"plugins/modules/([a-z_0-9]+)\.py")


def _text(tar: tarfile.TarFile, name: str) -> str | None:
    try:
        member = tar.extractfile(name)
    except KeyError:
        return None
    return member.read().decode() if member else None


def _licenses(tar: tarfile.TarFile, manifest: dict) -> list[str]:
    if not manifest.get("license"):
        return ["MANIFEST.json declares no license"]
    problems = []
    for license_id in manifest["license"]:
        name, opening = LICENSE_FILES.get(license_id, (None, ""))
        text = _text(tar, name) if name else None
        if text is None:
            problems.append(f"galaxy.yml declares {license_id}; the tarball has no text of it")
        elif not " ".join(text.split()).startswith(opening):
            problems.append(f"{name} is not the {license_id} text")
    return problems


def _changelog(tar: tarfile.TarFile, manifest: dict) -> list[str]:
    changes = _text(tar, "CHANGELOG.rst") or ""
    version = manifest.get("version", "?")
    problems = []
    if f"\nv{version}\n" not in changes:
        problems.append(f"CHANGELOG.rst missing or without a v{version} section")
    for name in sorted(tar.getnames()):
        module = MODULE.fullmatch(name)
        if module and f"devops.django.{module.group(1)}" not in changes:
            problems.append(f"CHANGELOG.rst does not list the module devops.django.{module[1]}")
    return problems


def _links(manifest: dict, links: dict[str, str] | None) -> list[str]:
    problems = []
    for key in LINK_KEYS:
        value, expected = manifest.get(key) or "", (links or {}).get(key, "")
        if "example.invalid" in value:
            problems.append(f"MANIFEST.json {key} is a placeholder: {value}")
        elif value != expected:
            problems.append(f"MANIFEST.json {key} is {value!r}, expected {expected!r}")
    return problems


def check_tarball(path: Path, links: dict[str, str] | None = None) -> list[str]:
    """What is wrong with the built tarball at path; links: those a release must carry."""
    if not path.is_file():
        return [f"no tarball at {path}"]
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        manifest = json.loads(_text(tar, "MANIFEST.json") or "{}").get("collection_info", {})
        problems = _licenses(tar, manifest) + _changelog(tar, manifest)
    for required in (manifest.get("readme") or "README.md", "meta/runtime.yml", "FILES.json"):
        if required not in names:
            problems.append(f"{required} is not in the tarball")
    problems += [f"{n} should not be shipped" for n in sorted(names) if NOT_SHIPPED.search(n)]
    return problems + _links(manifest, links)


def readme_problems(galaxy: dict) -> list[str]:
    readme = COLLECTION / galaxy.get("readme", "README.md")
    listed = readme.read_text() if readme.is_file() else ""
    problems = []
    for role in sorted(p.name for p in (COLLECTION / "roles").iterdir() if p.is_dir()):
        if f"(roles/{role}/README.md)" not in listed:
            problems.append(f"the collection README does not list the role {role}")
    for module in sorted(COLLECTION.glob("plugins/modules/*.py")):
        if f"| `devops.django.{module.stem}` |" not in listed:
            problems.append(f"the collection README does not list devops.django.{module.stem}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tarball", type=Path, help="check this built tarball instead")
    parser.add_argument("--links", nargs="*", default=None, metavar="KEY=URL")
    args = parser.parse_args()
    if args.tarball:
        links = dict(item.split("=", 1) for item in args.links) if args.links is not None else None
        problems = check_tarball(args.tarball, links)
        for problem in problems:
            print(problem)
        print(f"collection tarball: {len(problems)} problems")
        return 1 if problems else 0
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
    requirements = yaml.safe_load((REPO / "requirements.yml").read_text())
    problems = []
    if not (COLLECTION / galaxy.get("readme", "README.md")).is_file():
        problems.append(f"galaxy.yml readme {galaxy.get('readme')!r} does not exist")
    problems += readme_problems(galaxy)
    for key in LINK_KEYS:
        if "example.invalid" in str(galaxy.get(key, "")):
            problems.append(f"galaxy.yml {key} is a placeholder: the release build sets it")
    deps = set(galaxy.get("dependencies") or {})
    required = {c["name"] for c in requirements.get("collections", [])}
    for name, where in sorted(used_collections().items()):
        if name not in deps:
            problems.append(f"{name} (used in {where}) is not a galaxy.yml dependency")
        if name not in required:
            problems.append(f"{name} (used in {where}) is not in requirements.yml")
    for problem in problems:
        print(problem)
    print(f"collection metadata: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
