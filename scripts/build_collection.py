#!/usr/bin/env python3
"""Build the devops.django collection tarball, with its LICENSE files and generated CHANGELOG.

The collection is copied to a temporary ansible_collections tree first; there the changelog
is generated (`antsibull-changelog release` for the version in galaxy.yml when changelog.yaml
does not have it yet, so the fragments become this version's notes; else `generate`) and, for
a release, the links are written into galaxy.yml. The repository is left as it was.

  scripts/build_collection.py [--output-path build]              # for tests: no links
  scripts/build_collection.py --release --repository URL --homepage URL \
      --issues URL --documentation URL                           # refused without all four

The tarball is then checked (scripts/check_collection.py --tarball).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_collection import COLLECTION, check_tarball

GALAXY_BUILD = ["ansible-galaxy", "collection", "build", "--force"]
# galaxy.yml key -> the make variable that sets it (mk/collection.mk).
LINKS = {
    "repository": "COLLECTION_REPOSITORY",
    "homepage": "COLLECTION_HOMEPAGE",
    "issues": "COLLECTION_ISSUES",
    "documentation": "COLLECTION_DOCUMENTATION",
}


def release_links(args: argparse.Namespace) -> tuple[dict[str, str], list[str]]:
    """The four links, and one refusal per missing or placeholder one."""
    links, problems = {}, []
    for key, variable in LINKS.items():
        value = (getattr(args, key) or "").strip()
        if not value:
            problems.append(f"{variable} is not set (galaxy.yml {key}; --{key})")
        elif not value.startswith("https://") or "example.invalid" in value:
            problems.append(f"{variable}={value!r}: expected an https:// URL of the real project")
        links[key] = value
    return links, problems


def stage(root: Path) -> Path:
    target = root / "ansible_collections/devops/django"
    ignore = shutil.ignore_patterns("output", "__pycache__", ".pytest_cache", ".plugin-cache.yaml")
    shutil.copytree(COLLECTION, target, ignore=ignore)
    return target


def changelog(staged: Path, version: str) -> None:
    released = yaml.safe_load((staged / "changelogs/changelog.yaml").read_text())["releases"]
    if version in (released or {}):
        command = ["antsibull-changelog", "generate"]
    else:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        day = datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch else None
        date = (day or datetime.datetime.now(datetime.UTC)).date().isoformat()
        command = ["antsibull-changelog", "release", "--version", version, "--date", date]
    subprocess.run(command, cwd=staged, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output-path", type=Path, default=Path("build"))
    parser.add_argument("--release", action="store_true", help="set the links; all four needed")
    for key in LINKS:
        parser.add_argument(f"--{key}", default="")
    args = parser.parse_args()

    links = None
    if args.release:
        links, problems = release_links(args)
        if problems:
            print("collection-release refused:", *problems, sep="\n  ", file=sys.stderr)
            print(
                "e.g. make collection-release COLLECTION_REPOSITORY=https://github.com/<you>/"
                "devops-django COLLECTION_HOMEPAGE=... COLLECTION_ISSUES=... "
                "COLLECTION_DOCUMENTATION=...",
                file=sys.stderr,
            )
            return 2
    args.output_path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dd-collection-") as root:
        staged = stage(Path(root))
        galaxy = yaml.safe_load((staged / "galaxy.yml").read_text())
        changelog(staged, galaxy["version"])
        if links:
            galaxy.update(links)
            (staged / "galaxy.yml").write_text(yaml.safe_dump(galaxy, sort_keys=False))
        subprocess.run(
            [*GALAXY_BUILD, "--output-path", str(args.output_path.resolve()), str(staged)],
            check=True,
        )
    name = f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    tarball = args.output_path / name
    problems = check_tarball(tarball, links)
    for problem in problems:
        print(f"{tarball}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
