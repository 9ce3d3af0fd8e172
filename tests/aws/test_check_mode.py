"""infra.yml --check --diff on a fresh account on moto: it reports changes and creates nothing.

The dry run on a converged stack runs on the dev stack of test_dev_stack.py (in the other half of
the AWS suites), which is converged already: one real infra.yml run and one teardown fewer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import Stack
from .helpers import HERE, random_project, run_module, run_playbook, tagged_leftovers


@pytest.fixture(scope="module")
def stack(aws_env, moto_ami_id, boto_session) -> Iterator[Stack]:
    project = random_project()
    env = {**aws_env, "DEVOPS_TEST_PROJECT": project, "DEVOPS_TEST_AMI_ID": moto_ami_id}
    stack = Stack(project, "dev", env, HERE / "inventory_dev")
    try:
        yield stack
    finally:
        # A dry run creates nothing; tear down only what a broken one left (the test fails then).
        if tagged_leftovers(boto_session, project):
            stack.teardown()


def _nothing_exists(boto_session, project: str) -> dict[str, list]:
    ec2 = boto_session.client("ec2")
    tag = [{"Name": "tag:Project", "Values": [project]}]
    prefix = f"{project}-dev"
    return {
        "vpcs": ec2.describe_vpcs(Filters=tag)["Vpcs"],
        "security_groups": ec2.describe_security_groups(Filters=tag)["SecurityGroups"],
        "albs": [
            lb
            for lb in boto_session.client("elbv2").describe_load_balancers()["LoadBalancers"]
            if lb["LoadBalancerName"].startswith(prefix)
        ],
        "asgs": boto_session.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[f"{prefix}-app"]
        )["AutoScalingGroups"],
        "topics": [
            t
            for t in boto_session.client("sns").list_topics()["Topics"]
            if f":{prefix}" in t["TopicArn"]
        ],
        "roles": [
            r
            for r in boto_session.client("iam").list_roles()["Roles"]
            if r["RoleName"].startswith(prefix)
        ],
    }


def test_dry_run_on_a_fresh_account_reports_changes_and_creates_nothing(stack, boto_session):
    run = run_playbook("infra.yml", stack.inventory, stack.env, "--check", "--diff")
    stack.runs["fresh_check"] = run
    assert run.returncode == 0, run.output[-5000:]
    assert run.recap["failed"] == 0
    changed = run.changed_tasks()
    # Every role would create something.
    for role in ("vpc", "security_groups", "rds", "alb", "launch_template", "asg", "alarms"):
        assert any(t.startswith(f"devops.django.{role} :") for t in changed), (role, changed)
    # --diff prints what would change (the VPC module's before/after, for one).
    assert "before" in run.output and "after" in run.output, run.output[-3000:]
    assert {k: v for k, v in _nothing_exists(boto_session, stack.project).items() if v} == {}


def test_sns_topic_dry_run_canary(aws_env):
    """alarms/tasks/present.yml reports a new topic itself in check mode: sns_topic fails there."""
    result = run_module(
        aws_env,
        "community.aws.sns_topic",
        "--check",
        name=f"{random_project()}-canary",
        display_name="canary",
    )
    assert result["_failed"], "sns_topic now dry-runs a new topic: drop the workaround in alarms"
