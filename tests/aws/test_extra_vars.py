"""Numbers and booleans given on the command line (-e var=value: always a string) pass infra.yml's
checks, and a value of the wrong kind fails naming the variable.

Only the checks run (--tags preflight: nothing but the always-tagged tasks): no AWS resource.
The variables are read from the AWS roles' argument specs (every int and bool option). The
wrong-kind runs give every typed variable of one role a bad value at once: a role's argument
spec check names every variable it refuses, so one run per role asserts each of them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from .helpers import HERE, REPO, random_project, run_playbook

ROLES_DIR = REPO / "collections" / "ansible_collections" / "devops" / "django" / "roles"
AWS_ROLES = ["vpc", "security_groups", "rds", "alb", "launch_template", "asg", "alarms"]


def _typed_options() -> dict[str, tuple[str, str]]:
    """Every int and bool option: name -> (type, first role in infra.yml's order declaring it)."""
    out: dict[str, tuple[str, str]] = {}
    for role in AWS_ROLES:
        spec = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
        for name, option in spec["argument_specs"]["main"]["options"].items():
            if option.get("type") in ("int", "bool"):
                out.setdefault(name, (option["type"], role))
    return out


TYPED_ROLES = _typed_options()
TYPED = {name: kind for name, (kind, _) in TYPED_ROLES.items()}
DEV = yaml.safe_load((HERE / "inventory_dev" / "group_vars" / "all" / "main.yml").read_text())
TEST = yaml.safe_load((HERE / "inventory_dev" / "group_vars" / "all" / "zz_test.yml").read_text())


def _valid_string(name: str, kind: str) -> str:
    """The value the dev inventory (or the role default) has, written the way -e sends it."""
    value = TEST.get(name, DEV.get(name))
    if value is None:
        defaults = {}
        for role in AWS_ROLES:
            defaults.update(
                yaml.safe_load((ROLES_DIR / role / "defaults" / "main.yml").read_text())
            )
        value = defaults[name]
    if kind == "bool":
        return "true" if value else "false"
    return str(value)


def _run(aws_env, *extra: str):
    env = {**aws_env, "DEVOPS_TEST_PROJECT": random_project(), "DEVOPS_TEST_AMI_ID": ""}
    args = [a for pair in extra for a in ("-e", pair)]
    return run_playbook("infra.yml", HERE / "inventory_dev", env, "--tags", "preflight", *args)


def test_table_covers_the_numbers_the_issue_names():
    assert TYPED.get("asg_max_size") == "int"
    assert TYPED.get("rds_multi_az") == "bool"
    assert len(TYPED) >= 40, TYPED


def test_every_number_and_boolean_as_a_command_line_string_passes(aws_env):
    # One run with every variable given as a string at once: the first crash would stop it.
    pairs = [f"{name}={_valid_string(name, kind)}" for name, kind in TYPED.items()]
    run = _run(aws_env, *pairs)
    assert run.returncode == 0, run.output[-4000:]
    assert run.recap["failed"] == 0
    assert run.recap["changed"] == 0


def test_asg_max_size_from_the_command_line(aws_env):
    run = _run(aws_env, "asg_max_size=3")
    assert run.returncode == 0, run.output[-4000:]


def _bad(name: str) -> str:
    return f"{name}={'many' if TYPED[name] == 'int' else 'perhaps'}"


@pytest.fixture(scope="module")
def bad_runs(aws_env):
    """One run per role, every typed variable of that role wrong at once: variable -> its run."""
    by_role: dict[str, list[str]] = {}
    for name, (_, role) in TYPED_ROLES.items():
        by_role.setdefault(role, []).append(name)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            role: pool.submit(_run, aws_env, *[_bad(n) for n in names])
            for role, names in by_role.items()
        }
        runs = {role: future.result() for role, future in futures.items()}
    return {name: runs[role] for role, names in by_role.items() for name in names}


def test_one_wrong_variable_alone_fails_naming_it(aws_env):
    """The grouped runs above, checked against a run with one wrong variable alone."""
    run = _run(aws_env, _bad("asg_max_size"))
    assert run.returncode != 0, run.output[-3000:]
    assert "asg_max_size" in run.output[run.output.rfind("TASK [") :], run.output[-2000:]
    assert run.recap["changed"] == 0


@pytest.mark.parametrize("name", list(TYPED))
def test_a_value_of_the_wrong_kind_fails_naming_the_variable(bad_runs, name):
    run = bad_runs[name]
    assert run.returncode != 0, run.output[-3000:]
    failed = run.output[run.output.rfind("TASK [") :]
    assert name in failed, failed[-2000:]
    assert run.recap["changed"] == 0
