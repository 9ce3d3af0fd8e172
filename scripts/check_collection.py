#!/usr/bin/env python3
"""Keep the collection's metadata true to its content.

- galaxy.yml's readme exists;
- every collection the roles, playbooks and plugins call by FQCN (other than
  ansible.builtin and devops.django itself) is a dependency in galaxy.yml and in
  requirements.yml (for users who install from Galaxy).
"""

from __future__ import annotations

import re
import sys
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


def main() -> int:
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
    requirements = yaml.safe_load((REPO / "requirements.yml").read_text())
    problems = []
    if not (COLLECTION / galaxy.get("readme", "README.md")).is_file():
        problems.append(f"galaxy.yml readme {galaxy.get('readme')!r} does not exist")
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
