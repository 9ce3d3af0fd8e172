"""Numbers and booleans given on the command line (-e var=value: always a string) pass infra.yml's
checks, and a value of the wrong kind fails naming the variable.

Only the checks run (--tags preflight: nothing but the always-tagged tasks): no AWS resource.
The variables are read from the AWS roles' argument specs (every int and bool option).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from .helpers import HERE, REPO, random_project, run_playbook

ROLES_DIR = REPO / "collections" / "ansible_collections" / "devops" / "django" / "roles"
AWS_ROLES = ["vpc", "security_groups", "rds", "alb", "launch_template", "asg", "alarms"]


def _typed_options() -> dict[str, str]:
    out = {}
    for role in AWS_ROLES:
        spec = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
        for name, option in spec["argument_specs"]["main"]["options"].items():
            if option.get("type") in ("int", "bool"):
                out[name] = option["type"]
    return out


TYPED = _typed_options()
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


@pytest.fixture(scope="module")
def bad_runs(aws_env):
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(_run, aws_env, f"{name}={'many' if kind == 'int' else 'perhaps'}")
            for name, kind in TYPED.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(TYPED))
def test_a_value_of_the_wrong_kind_fails_naming_the_variable(bad_runs, name):
    run = bad_runs[name]
    assert run.returncode != 0, run.output[-3000:]
    failed = run.output[run.output.rfind("TASK [") :]
    assert name in failed, failed[-2000:]
    assert run.recap["changed"] == 0
