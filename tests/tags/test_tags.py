"""One tag convention for every playbook and role (docs/conventions.md), read from --list-tasks.

The role name selects the whole role and nothing of another role; host roles also answer to
<role>_install, <role>_configure and <role>_run; every role's checks are tagged always.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AWS_INVENTORY = REPO / "tests" / "aws" / "inventory_dev"
LOCAL_INVENTORY = REPO / "inventories" / "local"
WEB_ROLES = ["postgresql", "node_exporter", "django_app", "nginx", "local_lb"]
MONITORING_ROLES = ["prometheus", "grafana"]
AWS_ROLES = ["vpc", "security_groups", "rds", "alb", "launch_template", "asg", "alarms"]
PLAYBOOKS = {
    "infra.yml": (AWS_INVENTORY, AWS_ROLES),
    "teardown.yml": (AWS_INVENTORY, AWS_ROLES),
    "web.yml": (
        LOCAL_INVENTORY,
        ["postgresql", "node_exporter", "django_app", "nginx", "local_lb"],
    ),
    "monitoring.yml": (LOCAL_INVENTORY, ["prometheus", "grafana"]),
}
HOST_ROLES = {
    "web.yml": ["postgresql", "node_exporter", "django_app", "nginx", "local_lb"],
    "monitoring.yml": ["prometheus", "grafana"],
}
# Playbook tasks outside any role, and the role whose tag they carry (they exist for it).
PLAY_TASKS = {
    "Create the Django secret key once (never overwritten, so sessions survive releases)": (
        "django_app"
    ),
    "Create the Grafana admin password once (never overwritten)": "grafana",
}
TASK = re.compile(r"^\s{6}(?P<name>.+?)\tTAGS: \[(?P<tags>[^\]]*)\]$")


@cache
def list_tasks(playbook: str, *args: str) -> tuple[tuple[str, frozenset[str]], ...]:
    inventory = PLAYBOOKS[playbook][0]
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), f"playbooks/{playbook}", "--list-tasks", *args],
        cwd=REPO,
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    tasks = []
    for line in proc.stdout.splitlines():
        match = TASK.match(line)
        if match:
            tags = frozenset(t.strip() for t in match["tags"].split(",") if t.strip())
            tasks.append((match["name"], tags))
    assert tasks, proc.stdout
    return tuple(tasks)


def _owner(name: str) -> str | None:
    """The role a listed task belongs to (None: a playbook task that is no role's)."""
    if name.startswith("devops.django."):
        return name.split(".", 2)[2].split(" :", 1)[0]
    return PLAY_TASKS.get(name)


CASES = [(pb, role) for pb, (_, roles) in PLAYBOOKS.items() for role in roles]


@pytest.fixture(scope="module", autouse=True)
def _warm_cache():
    """Run the --list-tasks calls four at a time (each is a few seconds of Ansible start-up)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda c: list_tasks(c[0], "--tags", c[1]), CASES))
        list(pool.map(list_tasks, PLAYBOOKS))


@pytest.mark.parametrize(("playbook", "role"), CASES, ids=[f"{p}-{r}" for p, r in CASES])
def test_role_tag_selects_the_role_and_no_other(playbook, role):
    selected = list_tasks(playbook, "--tags", role)
    own = [name for name, tags in selected if _owner(name) == role and "always" not in tags]
    assert own, f"--tags {role} on {playbook} runs none of the role's own tasks: {selected}"
    foreign = [name for name, tags in selected if _owner(name) != role and "always" not in tags]
    assert foreign == [], f"--tags {role} on {playbook} also runs {foreign}"
    # Everything the role has is selected: the whole role, not a part.
    everything = [name for name, _ in list_tasks(playbook) if _owner(name) == role]
    assert sorted(name for name, _ in selected if _owner(name) == role) == sorted(everything)


@pytest.mark.parametrize("playbook", list(PLAYBOOKS))
def test_every_role_task_carries_its_role_tag_and_checks_always_run(playbook):
    for name, tags in list_tasks(playbook):
        role = _owner(name)
        if role is not None:
            assert role in tags, (name, tags)
        if "Validating arguments" in name and role in HOST_ROLES.get(playbook, []):
            assert "always" in tags, (name, tags)
    # Each host role's own checks (preflight.yml, or its first assert) run whatever --tags say.
    for role in HOST_ROLES.get(playbook, []):
        checks = [
            name
            for name, tags in list_tasks(playbook)
            if _owner(name) == role and "always" in tags and "Validating arguments" not in name
        ]
        assert checks, f"{role}: no check tagged always"
    # The AWS roles' checks run in the playbook's first task, for every role whatever --tags say.
    if playbook == "infra.yml":
        first = list_tasks(playbook)[0]
        assert first[0].startswith("Check every role's inputs") and "always" in first[1], first


SUB_CASES = [
    (pb, role, part)
    for pb, roles in HOST_ROLES.items()
    for role in roles
    for part in ("install", "configure", "run")
]


@pytest.mark.parametrize(
    ("playbook", "role", "part"), SUB_CASES, ids=[f"{p}-{r}_{s}" for p, r, s in SUB_CASES]
)
def test_host_role_parts_have_their_tags(playbook, role, part):
    tag = f"{role}_{part}"
    tasks = list_tasks(playbook)
    part_tasks = [name for name, tags in tasks if tag in tags and "always" not in tags]
    assert part_tasks, f"no task of {role} carries {tag}"
    assert all(_owner(name) == role for name in part_tasks), part_tasks
