"""devops.django.resource_tags on moto: tags alarms and listeners by ARN, only when they differ.

Run ad hoc (`ansible localhost -m devops.django.resource_tags`) against a bare alarm and listener.
"""

from __future__ import annotations

import pytest

from .helpers import cpu_alarm, random_project, run_module

TAGS = {"Project": "p", "Environment": "dev", "ManagedBy": "devops.django"}


def _tags(pairs: list[dict]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in pairs}


@pytest.fixture
def alarm(boto_session):
    cloudwatch = boto_session.client("cloudwatch")
    name = random_project()
    yield cpu_alarm(cloudwatch, name, {"Owner": "someone"})
    cloudwatch.delete_alarms(AlarmNames=[name])


@pytest.fixture
def listener(boto_session):
    ec2, elbv2 = boto_session.client("ec2"), boto_session.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.98.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.98.{i}.0/24", AvailabilityZone=f"eu-west-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    lb = elbv2.create_load_balancer(Name=random_project(), Subnets=subnets)["LoadBalancers"][0]
    arn = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]["ListenerArn"]
    yield arn
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_alarm_and_listener_tagged_once(aws_env, boto_session, alarm, listener):
    # Additive first (the default, purge_tags=true, is in test_modules_resource_tags.py).
    args = {"resource_arns": [alarm, listener], "tags": TAGS, "purge_tags": False}
    checked = run_module(aws_env, "devops.django.resource_tags", "--check", **args)
    assert checked["changed"] and checked["tagged"] == [alarm, listener]
    cloudwatch, elbv2 = boto_session.client("cloudwatch"), boto_session.client("elbv2")
    assert _tags(cloudwatch.list_tags_for_resource(ResourceARN=alarm)["Tags"]) == {
        "Owner": "someone"
    }, "check mode changed nothing"

    done = run_module(aws_env, "devops.django.resource_tags", **args)
    assert done["changed"] and not done["_failed"]
    assert _tags(cloudwatch.list_tags_for_resource(ResourceARN=alarm)["Tags"]) == {
        "Owner": "someone",
        **TAGS,
    }
    (desc,) = elbv2.describe_tags(ResourceArns=[listener])["TagDescriptions"]
    assert _tags(desc["Tags"]) == TAGS

    again = run_module(aws_env, "devops.django.resource_tags", **args)
    assert not again["changed"] and again["tagged"] == []

    purged = run_module(aws_env, "devops.django.resource_tags", **{**args, "purge_tags": True})
    assert purged["tagged"] == [alarm]
    assert _tags(cloudwatch.list_tags_for_resource(ResourceARN=alarm)["Tags"]) == TAGS


def test_unsupported_arn_is_refused_by_name(aws_env):
    bucket = "arn:aws:s3:::some-bucket"
    result = run_module(aws_env, "devops.django.resource_tags", resource_arns=[bucket], tags=TAGS)
    assert result["_failed"]
    assert "resource_arns" in result["msg"] and bucket in result["msg"]
