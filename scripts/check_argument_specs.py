#!/usr/bin/env python3
"""Keep every role's meta/argument_specs.yml, defaults/main.yml and README.md in step.

For each role of the devops.django collection:
- the `main` entry point's options and defaults/main.yml name the same variables;
- an option that declares `default:` declares the value defaults/main.yml holds;
- every variable carries the role prefix (`<role>_`);
- the role README mentions every variable.
Exit 1 with one line per problem.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ROLES = REPO / "collections/ansible_collections/devops/django/roles"


def check_role(role: Path) -> list[str]:
    problems: list[str] = []
    name = role.name
    spec_file = role / "meta/argument_specs.yml"
    defaults_file = role / "defaults/main.yml"
    readme = role / "README.md"
    if not spec_file.is_file():
        return [f"{name}: meta/argument_specs.yml is missing"]
    if not readme.is_file():
        problems.append(f"{name}: README.md is missing")
    spec = yaml.safe_load(spec_file.read_text()) or {}
    options = spec.get("argument_specs", {}).get("main", {}).get("options", {}) or {}
    defaults = {}
    if defaults_file.is_file():
        defaults = yaml.safe_load(defaults_file.read_text()) or {}
    public_defaults = {k: v for k, v in defaults.items() if not k.startswith("__")}

    for var in sorted(set(public_defaults) - set(options)):
        problems.append(f"{name}: {var} is in defaults/main.yml but not in argument_specs")
    # The internal role aws_common declares the collection-wide inputs (devops_ prefix).
    prefix = "devops_" if name == "aws_common" else f"{name}_"
    for var, opt in sorted(options.items()):
        if not var.startswith(prefix):
            problems.append(f"{name}: {var} lacks the role prefix '{prefix}'")
        if opt.get("required"):
            continue
        if var not in public_defaults:
            problems.append(f"{name}: {var} is in argument_specs but not in defaults/main.yml")
        elif "default" in opt and opt["default"] != public_defaults[var]:
            spec_default, value = opt["default"], public_defaults[var]
            problems.append(f"{name}: {var} default differs: spec {spec_default!r} vs {value!r}")
    if readme.is_file():
        text = readme.read_text()
        missing = [var for var in sorted(options) if var not in text]
        problems.extend(f"{name}: README.md does not document {var}" for var in missing)
    return problems


def main() -> int:
    roles = sorted(p for p in ROLES.iterdir() if p.is_dir()) if ROLES.is_dir() else []
    problems = [p for role in roles for p in check_role(role)]
    for line in problems:
        print(line)
    print(f"checked {len(roles)} roles: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
