#!/usr/bin/env python3
"""Keep the AWS tier's shared contract in one place; prove the files that cannot read it match it.

- Names and tags: roles/aws_common/tasks/names.yml derives them. No other AWS role or playbook
  types the Project/Environment/ManagedBy tag dict or the `<project>-<environment>` name; the
  CloudFormation templates and the aws_ec2 inventories, which cannot include the role, use the
  same patterns (checked here).
- Facts: each AWS role's README has a `## Facts` section with a `Consumes:` and a `Publishes:`
  paragraph. A role that reads another role's variable or fact not listed under Consumes fails,
  so does a published fact (set_fact) not listed under Publishes, or a consumed fact its
  producer does not publish.
Exit 1 with one line per problem.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jinja2
import jinja2.meta
import yaml

REPO = Path(__file__).resolve().parent.parent
ROLES = REPO / "collections/ansible_collections/devops/django/roles"
COMMON = "aws_common"
AWS_ROLES = ["vpc", "security_groups", "rds", "alb", "launch_template", "asg", "alarms"]
# Keys whose values Ansible evaluates as bare Jinja expressions.
BARE_KEYS = {"when", "that", "until", "changed_when", "failed_when"}
JINJA = jinja2.Environment()  # noqa: S701 - renders names, never HTML; parse only: Ansible's filters and tests need not exist for that


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads CloudFormation's short tags (!Ref, !Sub ...) as plain values."""


def _cfn_tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return {f"!{suffix}": loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {f"!{suffix}": loader.construct_sequence(node, deep=True)}
    return {f"!{suffix}": loader.construct_mapping(node, deep=True)}


_Loader.add_multi_constructor("!", _cfn_tag)


def load(path: Path) -> object:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def names_in(source: str) -> set[str]:
    """Variables a Jinja template reads (undeclared names), or none if it is not Jinja."""
    try:
        return set(jinja2.meta.find_undeclared_variables(JINJA.parse(source)))
    except jinja2.TemplateSyntaxError:
        return set()


def walk(node: object, key: str = "") -> set[str]:
    """Every variable the values of an Ansible YAML document read."""
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            found |= walk(v, str(k))
    elif isinstance(node, list):
        for item in node:
            found |= walk(item, key)
    elif isinstance(node, str):
        if key in BARE_KEYS and "{{" not in node:
            found |= names_in("{{ " + node + " }}")
        elif "{{" in node or "{%" in node:
            found |= names_in(node)
    return found


def set_facts(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "ansible.builtin.set_fact" and isinstance(v, dict):
                found |= {x for x in v if x != "cacheable"}
            else:
                found |= set_facts(v)
    elif isinstance(node, list):
        for item in node:
            found |= set_facts(item)
    return found


def role_files(role: Path) -> list[Path]:
    files = [
        p for sub in ("tasks", "vars", "defaults", "handlers") for p in (role / sub).glob("*.yml")
    ]
    return files + sorted((role / "templates").glob("**/*.j2"))


def role_reads(role: Path) -> set[str]:
    found: set[str] = set()
    for path in role_files(role):
        if path.suffix == ".j2":
            found |= names_in(path.read_text())
        else:
            found |= walk(load(path))
    return found


def role_sets(role: Path) -> set[str]:
    found: set[str] = set()
    for path in (role / "tasks").glob("*.yml"):
        found |= set_facts(load(path))
    return {f for f in found if not f.startswith("__")}


def facts_section(readme: Path) -> dict[str, set[str]]:
    """Backticked names of the `Consumes:` and `Publishes:` paragraphs under `## Facts`."""
    text = readme.read_text() if readme.is_file() else ""
    section = re.search(r"^## Facts\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    out: dict[str, set[str]] = {}
    for kind in ("Consumes", "Publishes"):
        line = (
            re.search(rf"^{kind}\b(.*?)(?=\n\s*\n|\Z)", section.group(1), re.S | re.M)
            if section
            else None
        )
        if line:
            out[kind] = set(re.findall(r"`([a-z_][a-z0-9_]*)`", line.group(1)))
    return out


def owner(name: str, roles: list[str]) -> str | None:
    """The role whose prefix a variable carries (the longest matching role name)."""
    for role in sorted(roles, key=len, reverse=True):
        if name.lstrip("_").startswith(
            role + "_"
        ):  # aws_common publishes _aws_common_* (internal) facts
            return role
    return None


def check_facts() -> list[str]:  # noqa: PLR0912 - one pass over the contract, read top down
    problems: list[str] = []
    roles = sorted(p.name for p in ROLES.iterdir() if p.is_dir())
    sections = {r: facts_section(ROLES / r / "README.md") for r in [*AWS_ROLES, COMMON]}
    for r in [*AWS_ROLES, COMMON]:
        for kind in ("Consumes", "Publishes"):
            if kind not in sections[r]:
                problems.append(f"{r}: README.md has no '{kind}:' line in a '## Facts' section")
    published = {r: sections[r].get("Publishes", set()) for r in sections}
    for r in AWS_ROLES:
        role = ROLES / r
        consumes = sections[r].get("Consumes", set())
        for name in sorted(role_reads(role)):
            producer = owner(name, roles)
            if producer is None or producer == r:
                continue
            if name not in consumes:
                problems.append(
                    f"{r}: reads {name} (of {producer}), not listed under Consumes in README.md"
                )
        for name in sorted(consumes):
            producer = owner(name, roles)
            if producer in published and name not in published[producer]:
                problems.append(
                    f"{r}: consumes {name}, not under Publishes in {producer}'s README.md"
                )
            elif producer and producer not in published:
                text = (ROLES / producer / "README.md").read_text()
                if f"`{name}`" not in text:
                    problems.append(
                        f"{r}: consumes {name}, which {producer}'s README.md does not document"
                    )
        for name in sorted(role_sets(role) - published[r]):
            problems.append(
                f"{r}: sets the fact {name} but README.md does not list it under Publishes"
            )
    for name in sorted(role_sets(ROLES / COMMON) - published[COMMON]):
        problems.append(
            f"{COMMON}: sets the fact {name} but README.md does not list it under Publishes"
        )
    return problems


def common_patterns() -> dict[str, object]:
    """The name and tag patterns as aws_common/tasks/names.yml sets them."""
    tasks = load(ROLES / COMMON / "tasks/names.yml")
    facts = next(t["ansible.builtin.set_fact"] for t in tasks if "ansible.builtin.set_fact" in t)
    tags = dict(re.findall(r"'(\w+)': ('[^']*'|\w+)", facts["_aws_common_tags"]))
    return {
        "app_name": facts["_aws_common_app_name"],
        "tags": tags,
        "tag_filters": facts["_aws_common_tag_filters"],
    }


def render(template: str, project: str, environment: str) -> str:
    return JINJA.from_string(template).render(
        devops_project=project, devops_environment=environment
    )


def cfn_tag_lists(node: object, path: str = ""):
    if isinstance(node, dict):
        for k, v in node.items():
            if (
                k == "Tags"
                and isinstance(v, list)
                and all(isinstance(t, dict) and "Key" in t for t in v)
            ):
                yield path, v
            else:
                yield from cfn_tag_lists(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from cfn_tag_lists(item, f"{path}[{i}]")


def check_cloudformation(patterns: dict[str, object]) -> list[str]:
    """CloudFormation tags Project, Environment, ManagedBy (cloudformation); app names match."""
    problems: list[str] = []
    tags: dict[str, str] = patterns["tags"]  # type: ignore[assignment]
    app_name = render(str(patterns["app_name"]), "${Project}", "${Environment}")
    expected = {
        "Project": {"!Ref": "Project"},
        "Environment": {"!Ref": "Environment"},
        "ManagedBy": "cloudformation",
    }
    if set(expected) != set(tags):
        problems.append(
            f"{COMMON}: tag keys {sorted(tags)} differ from this check's {sorted(expected)}"
        )
    for template in sorted((REPO / "cloudformation").glob("*.yaml")):
        doc = load(template)
        for path, tag_list in cfn_tag_lists(doc):
            got = {t["Key"]: t["Value"] for t in tag_list}
            for key, value in expected.items():
                if got.get(key) != value:
                    problems.append(
                        f"{template.name}: {path} tag {key} is {got.get(key)!r}, expected {value!r}"
                    )
        for sub in re.findall(
            r'!Sub "(\$\{Project\}-\$\{Environment\}-app[^"]*)"', template.read_text()
        ):
            if sub != app_name:
                problems.append(
                    f"{template.name}: app name {sub} is not {app_name} (_aws_common_app_name)"
                )
    return problems


def check_inventories(patterns: dict[str, object]) -> list[str]:
    problems: list[str] = []
    filters: dict[str, str] = patterns["tag_filters"]  # type: ignore[assignment]
    for inventory in sorted((REPO / "inventories").glob("*/aws_ec2.yml")):
        group_vars = load(inventory.parent / "group_vars/all/main.yml")
        project, environment = group_vars["devops_project"], group_vars["devops_environment"]
        doc = load(inventory)
        want = {k: render(v, project, environment) for k, v in filters.items()}
        got = {k: v for k, v in doc.get("filters", {}).items() if k.startswith("tag:")}
        name = inventory.relative_to(REPO)
        if got != want:
            problems.append(f"{name}: tag filters {got} differ from _aws_common_tag_filters {want}")
        if group_vars.get("devops_aws_region") not in doc.get("regions", []):
            problems.append(f"{name}: regions {doc.get('regions')} lack devops_aws_region")
        app = render(str(patterns["app_name"]), project, environment).replace("-", "_")
        if f"asg_{app}" not in inventory.read_text():
            problems.append(
                f"{name}: does not name the ASG group asg_{app} (from _aws_common_app_name)"
            )
    return problems


# The tag dict and the name prefix, typed by hand: only aws_common/tasks/names.yml may.
TYPED = [
    (re.compile(r"['\"]?ManagedBy['\"]?\s*:\s*['\"]?devops\.django"), "the ManagedBy tag"),
    (
        re.compile(r"\{\{\s*devops_project\s*\}\}-\{\{\s*devops_environment\s*\}\}"),
        "the <project>-<environment> name",
    ),
    (re.compile(r"devops_project\s*\)?\s*~\s*'-'"), "the <project>-<environment> name"),
]


def check_typed() -> list[str]:
    problems: list[str] = []
    files = [p for r in AWS_ROLES for p in role_files(ROLES / r)]
    files += sorted((REPO / "playbooks").glob("*.yml")) + sorted(
        (REPO / "playbooks/tasks").glob("*.yml")
    )
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for pattern, what in TYPED:
                if pattern.search(line):
                    name = path.relative_to(REPO)
                    problems.append(f"{name}:{number}: types {what}: use aws_common facts")
    return problems


# What module_defaults (group/devops.django.aws: "{{ _aws_common_module_defaults }}") give every
# AWS module; a task that passes one of these itself bypasses aws_common.
CONNECTION_ARGS = ("region", "endpoint_url", "access_key", "secret_key", "aws_config")
AWS_MODULE = re.compile(r"^(amazon\.aws|community\.aws|devops\.django)\.(?!aws_common)[a-z_]+$")


def connection_args(node: object, path: str) -> list[str]:
    """Tasks (at any depth: blocks, rescue, always) calling an AWS module with CONNECTION_ARGS."""
    problems: list[str] = []
    if isinstance(node, list):
        for item in node:
            problems += connection_args(item, path)
    elif isinstance(node, dict):
        for key, value in node.items():
            if AWS_MODULE.match(str(key)) and isinstance(value, dict):
                for arg in CONNECTION_ARGS:
                    if arg in value:
                        problems.append(
                            f"{path}: task {node.get('name', key)!r} passes {arg} to {key} by hand:"
                            " module_defaults group/devops.django.aws gives it"
                        )
            else:
                problems += connection_args(value, path)
    return problems


def check_connection_args(files: list[Path] | None = None) -> list[str]:
    if files is None:
        files = [p for r in [*AWS_ROLES, "aws_common"] for p in (ROLES / r / "tasks").glob("*.yml")]
        files += sorted((REPO / "playbooks").glob("*.yml"))
        files += sorted((REPO / "playbooks/tasks").glob("*.yml"))
    problems: list[str] = []
    for path in files:
        name = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        problems += connection_args(load(path), str(name))
    return problems


def main() -> int:
    patterns = common_patterns()
    problems = (
        check_facts()
        + check_cloudformation(patterns)
        + check_inventories(patterns)
        + check_typed()
        + check_connection_args()
    )
    for line in problems:
        print(line)
    print(f"checked the AWS contract of {len(AWS_ROLES)} roles: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
