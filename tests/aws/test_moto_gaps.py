"""Each moto gap the AWS roles or the test inventory work around, asserted as still present.

When one of these tests fails, moto has closed the gap: remove the workaround its docstring names.
"""

from __future__ import annotations

import contextlib

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from .helpers import random_project

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def client(aws_env):
    def make(service: str):
        return boto3.client(
            service,
            endpoint_url=aws_env["AWS_ENDPOINT_URL"],
            region_name=aws_env["AWS_DEFAULT_REGION"],
            aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=aws_env["AWS_SESSION_TOKEN"],
            config=NO_RETRY,
        )

    return make


@pytest.fixture(scope="module")
def network(client):
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.99.{i}.0/24", AvailabilityZone=f"eu-west-1{az}"
        )["Subnet"]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    yield {"vpc": vpc, "subnets": subnets}
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_nat_gateway_tags_filed_under_wrong_resource_type(client, network):
    """Workaround: roles/vpc tags NAT gateways with amazon.aws.ec2_tag, not the module."""
    ec2 = client("ec2")
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(
        SubnetId=network["subnets"][0],
        AllocationId=eip,
        TagSpecifications=[{"ResourceType": "natgateway", "Tags": [{"Key": "Gap", "Value": "1"}]}],
    )["NatGateway"]["NatGatewayId"]
    try:
        found = ec2.describe_tags(
            Filters=[
                {"Name": "resource-id", "Values": [nat]},
                {"Name": "resource-type", "Values": ["natgateway"]},
            ]
        )["Tags"]
        assert found == [], "moto now files NAT gateway tags as 'natgateway'"
    finally:
        ec2.delete_nat_gateway(NatGatewayId=nat)
        ec2.release_address(AllocationId=eip)


def test_describe_missing_db_parameter_group_returns_empty_list(client):
    """Workaround: rds_parameter_group_enabled false in the tests/aws inventories;
    roles/rds (absent) looks the group up before it deletes it."""
    groups = client("rds").describe_db_parameter_groups(DBParameterGroupName=random_project())
    assert groups["DBParameterGroups"] == [], "moto now raises DBParameterGroupNotFound"


def test_new_alb_lacks_idle_timeout_and_header_attributes(client, network):
    """Workaround: alb_idle_timeout 0, alb_drop_invalid_header_fields false in tests/aws."""
    elbv2 = client("elbv2")
    lb = elbv2.create_load_balancer(Name=random_project(), Subnets=network["subnets"])[
        "LoadBalancers"
    ][0]
    try:
        keys = {
            a["Key"]
            for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])[
                "Attributes"
            ]
        }
        assert "idle_timeout.timeout_seconds" not in keys, "moto now returns idle_timeout"
        assert "routing.http.drop_invalid_header_fields.enabled" not in keys
    finally:
        elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_protected_alb_is_deleted_anyway(client, network):
    """Not a workaround but a blind spot: AWS refuses to delete a load balancer with deletion
    protection (OperationNotPermitted), moto deletes it. roles/alb (absent) turns protection off
    first; on moto only the prod teardown test's task result shows that step ran. When this
    fails, the prod teardown test proves the step by the delete succeeding."""
    elbv2 = client("elbv2")
    lb = elbv2.create_load_balancer(Name=random_project(), Subnets=network["subnets"])[
        "LoadBalancers"
    ][0]
    arn = lb["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}]
    )
    attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    assert {"Key": "deletion_protection.enabled", "Value": "true"} in attributes
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    names = [b["LoadBalancerArn"] for b in elbv2.describe_load_balancers()["LoadBalancers"]]
    assert arn not in names, "moto now refuses to delete a protected load balancer"


def test_gp3_instance_lacks_storage_throughput(client):
    """Workaround: rds_storage_type gp2 in tests/aws inventories."""
    rds = client("rds")
    name = random_project()
    rds.create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        AllocatedStorage=20,
        StorageType="gp3",
        MasterUsername="gap",
        MasterUserPassword="fake-password-for-moto",
    )
    try:
        db = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
        assert "StorageThroughput" not in db, "moto now returns StorageThroughput for gp3"
    finally:
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)


def test_template_tags_leak_into_version_one(client):
    """Workaround: roles/launch_template tags the template with amazon.aws.ec2_tag."""
    ec2 = client("ec2")
    name = random_project()
    ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={"InstanceType": "t3.small"},
        TagSpecifications=[
            {"ResourceType": "launch-template", "Tags": [{"Key": "Gap", "Value": "1"}]}
        ],
    )
    try:
        data = ec2.describe_launch_template_versions(LaunchTemplateName=name)[
            "LaunchTemplateVersions"
        ][0]
        specs = data["LaunchTemplateData"].get("TagSpecifications", [])
        assert "launch-template" in [s["ResourceType"] for s in specs], (
            "moto no longer copies template tags"
        )
    finally:
        ec2.delete_launch_template(LaunchTemplateName=name)


@contextlib.contextmanager
def bare_group(client, **group):
    """An Auto Scaling group on a bare launch template, both deleted afterwards."""
    ec2, autoscaling = client("ec2"), client("autoscaling")
    name = random_project()
    ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": "ami-12c6146b"}
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": name}, **group
    )
    try:
        yield name
    finally:
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        ec2.delete_launch_template(LaunchTemplateName=name)


@pytest.fixture(scope="module")
def small_asg(client, network):
    """An empty Auto Scaling group whose tags were given out of key order."""
    tags = [{"Key": k, "Value": "1", "PropagateAtLaunch": True} for k in ("Zulu", "Alpha")]
    with bare_group(
        client, MinSize=0, MaxSize=0, VPCZoneIdentifier=network["subnets"][0], Tags=tags
    ) as name:
        yield name


def test_asg_tags_come_back_in_insertion_order(client, small_asg):
    """Workaround: roles/asg passes its tags sorted by key (AWS returns them sorted)."""
    group = client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[small_asg])[
        "AutoScalingGroups"
    ][0]
    assert [t["Key"] for t in group["Tags"]] == ["Zulu", "Alpha"], "moto now sorts ASG tags"


def test_instance_refresh_is_not_implemented(client, small_asg):
    """Workaround: asg_instance_refresh_enabled false in tests/aws (the refresh task is skipped).

    moto answers HTTP 500 (NotImplementedError); any proper answer means it gained the API.
    """
    with pytest.raises(ResponseParserError):
        client("autoscaling").start_instance_refresh(AutoScalingGroupName=small_asg)


def test_delete_launch_template_versions_is_not_implemented(client):
    """Consequence: on moto, teardown fails for a template with several versions; tests keep one."""
    ec2 = client("ec2")
    name = random_project()
    template = ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"InstanceType": "t3.small"}
    )
    ec2.create_launch_template_version(
        LaunchTemplateName=name, LaunchTemplateData={"InstanceType": "t3.micro"}
    )
    try:
        with pytest.raises(ResponseParserError):
            ec2.delete_launch_template_versions(
                LaunchTemplateId=template["LaunchTemplate"]["LaunchTemplateId"], Versions=["2"]
            )
    finally:
        ec2.delete_launch_template(LaunchTemplateName=name)


def test_no_debian_images(client):
    """Workaround: tests/aws use an Amazon Linux image moto ships (conftest moto_ami_id) and the
    prod test inventory points the image lookup at its owner; the role's default looks up Debian's
    official images (owner 136693071363)."""
    images = client("ec2").describe_images(Owners=["136693071363"])["Images"]
    assert images == [], "moto now ships Debian images: use the role's default lookup in tests"


def test_describe_launch_templates_omits_create_tags(client):
    """Workaround: test_dev_stack reads the template's tags with describe_tags."""
    ec2 = client("ec2")
    name = random_project()
    template = ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"InstanceType": "t3.small"}
    )["LaunchTemplate"]
    try:
        ec2.create_tags(
            Resources=[template["LaunchTemplateId"]], Tags=[{"Key": "Gap", "Value": "1"}]
        )
        (described,) = ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"]
        assert {"Key": "Gap", "Value": "1"} not in described.get("Tags", []), (
            "moto now lists CreateTags tags in describe_launch_templates"
        )
    finally:
        ec2.delete_launch_template(LaunchTemplateName=name)


def test_list_instance_profile_tags_is_not_implemented(client):
    """Workaround: test_dev_stack reads the instance profile's tags with get_instance_profile."""
    iam = client("iam")
    name = random_project()
    iam.create_instance_profile(InstanceProfileName=name, Tags=[{"Key": "Gap", "Value": "1"}])
    try:
        with pytest.raises((ResponseParserError, ClientError)):
            iam.list_instance_profile_tags(InstanceProfileName=name)
    finally:
        iam.delete_instance_profile(InstanceProfileName=name)


def test_asg_starts_every_instance_in_the_first_subnet(client, network):
    """Workaround: test_prod_stack checks the group's subnets, not where instances run."""
    ec2, autoscaling = client("ec2"), client("autoscaling")
    subnets = ",".join(network["subnets"])
    with bare_group(client, MinSize=4, MaxSize=4, VPCZoneIdentifier=subnets) as name:
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ][0]
        ids = [i["InstanceId"] for i in group["Instances"]]
        reservations = ec2.describe_instances(InstanceIds=ids)["Reservations"]
        used = {i["SubnetId"] for r in reservations for i in r["Instances"]}
        assert len(ids) == 4
        assert used == {network["subnets"][0]}, "moto now spreads instances over subnets"
