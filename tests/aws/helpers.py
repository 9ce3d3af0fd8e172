"""Helpers for the AWS tier tests: run playbooks against moto and read their recap."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PLAYBOOK_TIMEOUT = (
    900  # seconds; one infra.yml run on moto takes about 2-3 minutes on 2 shared cores
)

RECAP = re.compile(
    r"^localhost\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass
class Run:
    returncode: int
    output: str
    seconds: float

    @property
    def recap(self) -> dict[str, int]:
        match = RECAP.search(self.output)
        assert match, f"no PLAY RECAP in output:\n{self.output[-3000:]}"
        return {k: int(v) for k, v in match.groupdict().items()}

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported a change, for a readable failure message."""
        names, current = [], None
        for line in self.output.splitlines():
            if line.startswith("TASK ["):
                current = line[6 : line.rfind("]")]
            elif line.startswith("changed:") and current and current not in names:
                names.append(current)
        return names

    def task_status(self, name: str) -> list[str]:
        """Per-host results ("ok", "changed", "skipping", "failed") of the task whose name ends
        with `name`, in output order."""
        results, current = [], None
        for line in self.output.splitlines():
            if line.startswith("TASK ["):
                current = line[6 : line.rfind("]")]
            elif current and current.endswith(name):
                status = line.split(":", 1)[0]
                if status in ("ok", "changed", "skipping", "failed", "fatal"):
                    results.append(status)
        return results


def random_project() -> str:
    return "t" + secrets.token_hex(4)


def run_playbook(playbook: str | Path, inventory: Path, env: dict[str, str], *args: str) -> Run:
    """Run playbooks/<playbook> (or the given path) with the inventory; never raises on failure."""
    path = playbook if isinstance(playbook, Path) else REPO / "playbooks" / playbook
    start = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(path), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=PLAYBOOK_TIMEOUT,
        check=False,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start)


def tagged_leftovers(session, project: str) -> list[str]:
    """ARNs still tagged Project=<project>, minus what AWS itself keeps listing after deletion."""
    tagging = session.client("resourcegroupstaggingapi")
    ec2 = session.client("ec2")
    arns = [
        m["ResourceARN"]
        for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "Project", "Values": [project]}]
        )
        for m in page["ResourceTagMappingList"]
    ]
    gone_instances = {
        i["InstanceId"]
        for r in ec2.describe_instances(
            Filters=[{"Name": "instance-state-name", "Values": ["terminated", "shutting-down"]}]
        )["Reservations"]
        for i in r["Instances"]
    }
    gone_nats = {
        n["NatGatewayId"]
        for n in ec2.describe_nat_gateways(
            Filters=[{"Name": "state", "Values": ["deleted", "deleting"]}]
        )["NatGateways"]
    }
    gone = gone_instances | gone_nats
    return [arn for arn in arns if arn.rsplit("/", 1)[-1] not in gone]


@contextlib.contextmanager
def operator_asg(session, name: str, ami_id: str, instance_ids=(), **group):
    """An Auto Scaling group `name` (ELB health checks, 300 s grace) on a launch template
    of the same name, with `instance_ids` attached and ScheduledActions suspended as if by
    an operator; deleted afterwards. `group`: more create_auto_scaling_group arguments."""
    autoscaling, ec2 = session.client("autoscaling"), session.client("ec2")
    ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={"ImageId": ami_id, "InstanceType": "t3.small"},
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateName": name, "Version": "$Latest"},
        MinSize=0,
        HealthCheckType="ELB",
        HealthCheckGracePeriod=300,
        **group,
    )
    if instance_ids:
        autoscaling.attach_instances(AutoScalingGroupName=name, InstanceIds=list(instance_ids))
    autoscaling.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["ScheduledActions"])
    try:
        yield name
    finally:
        if instance_ids:
            autoscaling.detach_instances(
                AutoScalingGroupName=name,
                InstanceIds=list(instance_ids),
                ShouldDecrementDesiredCapacity=True,
            )
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        ec2.delete_launch_template(LaunchTemplateName=name)


def cpu_alarm(cloudwatch, name: str, tags: dict[str, str]) -> str:
    """A bare CPU alarm with these tags, for the resource_tags tests; returns its ARN."""
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    (found,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return found["AlarmArn"]


def run_module(aws_env: dict[str, str], module: str, *flags: str, **args) -> dict:
    """Run one module ad hoc on localhost against moto; its result, plus `_failed`."""
    args = {
        "region": aws_env["AWS_DEFAULT_REGION"],
        "endpoint_url": aws_env["AWS_ENDPOINT_URL"],
        **args,
    }
    proc = subprocess.run(
        ["ansible", "localhost", "-m", module, "-a", json.dumps(args), *flags],
        cwd=REPO,
        env={
            **aws_env,
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal",
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert " => " in proc.stdout, proc.stdout + proc.stderr
    head, _, body = proc.stdout.partition(" => ")
    result = json.loads(body)
    result["_failed"] = "FAILED" in head
    return result
