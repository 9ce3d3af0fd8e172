"""devops.django.asg_processes on moto: suspends and resumes only what it should, and says so.

Run ad hoc (`ansible localhost -m devops.django.asg_processes`) against a bare group.
"""

from __future__ import annotations

import pytest

from .helpers import operator_asg, random_project, run_module

MARKER = "devops.django:deploy-suspended"


@pytest.fixture
def group(boto_session, moto_ami_id):
    """A group with no instances and ScheduledActions suspended by someone else."""
    with operator_asg(
        boto_session, random_project(), moto_ami_id, MaxSize=1, AvailabilityZones=["eu-west-1a"]
    ) as name:
        yield name


def _module(aws_env, *flags: str, **args) -> dict:
    return run_module(aws_env, "devops.django.asg_processes", *flags, **args)


def _state(boto_session, name: str) -> tuple[list[str], str | None]:
    group = boto_session.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name]
    )["AutoScalingGroups"][0]
    tag = next((t["Value"] for t in group["Tags"] if t["Key"] == MARKER), None)
    return sorted(p["ProcessName"] for p in group["SuspendedProcesses"]), tag


def test_suspend_resume_round_trip(aws_env, boto_session, group):
    wanted = {"name": group, "processes": ["Terminate", "HealthCheck"], "marker_tag": MARKER}
    checked = _module(aws_env, "--check", "--diff", **wanted)
    assert checked["changed"] and checked["suspended"] == ["HealthCheck", "Terminate"]
    assert _state(boto_session, group) == (["ScheduledActions"], None)

    done = _module(aws_env, **wanted)
    assert done["changed"]
    assert done["suspended_before"] == ["ScheduledActions"]
    assert done["suspended_after"] == ["HealthCheck", "ScheduledActions", "Terminate"]
    group_after = boto_session.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[group]
    )["AutoScalingGroups"][0]
    assert group_after["HealthCheckType"] == "ELB"  # nothing else about the group changed
    assert _state(boto_session, group) == (
        ["HealthCheck", "ScheduledActions", "Terminate"],
        "HealthCheck,Terminate",
    )
    assert not _module(aws_env, **wanted)["changed"]

    resume = {"name": group, "marker_tag": MARKER, "state": "resumed"}
    assert _module(aws_env, "--check", **resume)["resumed"] == ["HealthCheck", "Terminate"]
    assert _state(boto_session, group)[0] == ["HealthCheck", "ScheduledActions", "Terminate"]
    resumed = _module(aws_env, **resume)
    assert resumed["changed"] and resumed["resumed"] == ["HealthCheck", "Terminate"]
    assert _state(boto_session, group) == (["ScheduledActions"], None)
    assert not _module(aws_env, **resume)["changed"]


def test_already_suspended_process_is_not_claimed(aws_env, boto_session, group):
    wanted = {"name": group, "processes": ["ScheduledActions", "AZRebalance"], "marker_tag": MARKER}
    done = _module(aws_env, **wanted)
    assert done["suspended"] == ["AZRebalance"] and done["marked"] == ["AZRebalance"]
    _module(aws_env, name=group, marker_tag=MARKER, state="resumed")
    assert _state(boto_session, group) == (["ScheduledActions"], None)


def test_missing_group_fails(aws_env):
    result = _module(aws_env, name=random_project(), processes=["Terminate"])
    assert result["_failed"] and "No Auto Scaling group" in result["msg"]
