"""infra.yml with the prod values on moto: NAT per AZ, Multi-AZ, HTTPS, SSM endpoints, teardown."""

from __future__ import annotations

import pytest

from .helpers import tagged_leftovers


@pytest.fixture(scope="module")
def prefix(prod_stack):
    return f"{prod_stack.project}-prod"


@pytest.fixture(scope="module")
def vpc_id(prod_stack, boto_session):
    (vpc,) = boto_session.client("ec2").describe_vpcs(
        Filters=[{"Name": "tag:Project", "Values": [prod_stack.project]}]
    )["Vpcs"]
    return vpc["VpcId"]


def test_one_nat_gateway_per_az(boto_session, vpc_id):
    ec2 = boto_session.client("ec2")
    nats = ec2.describe_nat_gateways(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "state", "Values": ["available"]}]
    )["NatGateways"]
    subnets = {
        s["SubnetId"]: s
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    }
    nat_az = {n["NatGatewayId"]: subnets[n["SubnetId"]]["AvailabilityZone"] for n in nats}
    assert len(set(nat_az.values())) == 3
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "RouteTables"
    ]
    checked = 0
    for table in tables:
        nat_routes = [r["NatGatewayId"] for r in table["Routes"] if r.get("NatGatewayId")]
        for assoc in table["Associations"]:
            if nat_routes and assoc.get("SubnetId"):
                assert nat_az[nat_routes[0]] == subnets[assoc["SubnetId"]]["AvailabilityZone"]
                checked += 1
    assert checked == 3, "each private subnet routes through the NAT gateway of its own AZ"


def test_ssm_endpoints_only_reachable_from_the_vpc(boto_session, vpc_id):
    ec2 = boto_session.client("ec2")
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "VpcEndpoints"
    ]
    assert sorted(e["ServiceName"].rsplit(".", 1)[-1] for e in endpoints) == [
        "ec2messages",
        "ssm",
        "ssmmessages",
    ]
    assert {e["VpcEndpointType"] for e in endpoints} == {"Interface"}
    (group_id,) = {g["GroupId"] for e in endpoints for g in e["Groups"]}
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert [
        (p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]
    ] == [(443, ["10.50.0.0/16"])]


def test_database_is_multi_az_and_protected(boto_session, prefix):
    db = boto_session.client("rds").describe_db_instances(DBInstanceIdentifier=f"{prefix}-db")[
        "DBInstances"
    ][0]
    assert db["MultiAZ"] is True
    assert db["DeletionProtection"] is True
    assert db["BackupRetentionPeriod"] == 14
    assert db["StorageEncrypted"] is True
    assert db["PubliclyAccessible"] is False


def test_http_redirects_to_https_with_the_certificate(prod_stack, boto_session, prefix):
    elbv2 = boto_session.client("elbv2")
    lb = elbv2.describe_load_balancers(Names=[prefix])["LoadBalancers"][0]
    listeners = {
        x["Port"]: x
        for x in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    }
    assert set(listeners) == {80, 443}
    redirect = listeners[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert [c["CertificateArn"] for c in https["Certificates"]] == [
        prod_stack.env["DEVOPS_TEST_CERTIFICATE_ARN"]
    ]
    assert https["DefaultActions"][0]["Type"] == "forward"
    attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])
    assert {"Key": "deletion_protection.enabled", "Value": "true"} in attributes["Attributes"]


def test_launch_template_uses_the_looked_up_image(boto_session, prefix):
    ec2 = boto_session.client("ec2")
    images = ec2.describe_images(
        Owners=["137112412989"],
        Filters=[
            {"Name": "name", "Values": ["al2023-ami-2023.*-x86_64"]},
            {"Name": "architecture", "Values": ["x86_64"]},
        ],
    )["Images"]
    newest = max(images, key=lambda i: (i["CreationDate"], i["Name"]))["ImageId"]
    version = ec2.describe_launch_template_versions(
        LaunchTemplateName=f"{prefix}-app", Versions=["$Latest"]
    )["LaunchTemplateVersions"][0]
    assert version["LaunchTemplateData"]["ImageId"] == newest
    assert version["LaunchTemplateData"]["InstanceType"] == "m7i.large"


def test_larger_asg_scales_on_cpu_and_requests(boto_session, prefix):
    autoscaling = boto_session.client("autoscaling")
    asg = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{prefix}-app"])[
        "AutoScalingGroups"
    ][0]
    assert (asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"]) == (2, 8, 3)
    assert len(asg["Instances"]) == 3
    # moto starts every instance in the first subnet: check the group's spread instead.
    subnets = boto_session.client("ec2").describe_subnets(
        SubnetIds=asg["VPCZoneIdentifier"].split(",")
    )
    assert len({s["AvailabilityZone"] for s in subnets["Subnets"]}) == 3
    policies = autoscaling.describe_policies(AutoScalingGroupName=f"{prefix}-app")[
        "ScalingPolicies"
    ]
    specs = {
        p["TargetTrackingConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]: p["TargetTrackingConfiguration"]
        for p in policies
    }
    assert set(specs) == {"ASGAverageCPUUtilization", "ALBRequestCountPerTarget"}
    label = specs["ALBRequestCountPerTarget"]["PredefinedMetricSpecification"]["ResourceLabel"]
    assert label.startswith(f"app/{prefix}/") and f"/targetgroup/{prefix}-app/" in label


def test_alarm_topic_mails_oncall(boto_session, prefix):
    sns = boto_session.client("sns")
    (topic,) = [
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].endswith(f":{prefix}-alarms")
    ]
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "oncall@example.com")]


def test_confirmed_teardown_keeps_a_final_snapshot_and_nothing_else(
    prod_stack, boto_session, prefix
):
    run = prod_stack.teardown("-e", f"teardown_confirm={prod_stack.project}-prod")
    prod_stack.torn_down = True
    assert run.returncode == 0, run.output[-5000:]
    # AWS refuses to delete a protected load balancer; moto does not (test_moto_gaps), so the
    # task result is what shows the role lifted the protection first.
    assert run.task_status("Turn off deletion protection before the delete") == ["changed"]
    rds = boto_session.client("rds")
    assert f"{prefix}-db" not in [
        d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]
    ]
    snapshots = [
        s
        for s in rds.describe_db_snapshots()["DBSnapshots"]
        if s["DBSnapshotIdentifier"].startswith(f"{prefix}-db-final-")
    ]
    assert len(snapshots) == 1, "prod keeps a final snapshot"
    leftovers = tagged_leftovers(boto_session, prod_stack.project)
    assert [arn for arn in leftovers if ":snapshot:" not in arn] == []
    rds.delete_db_snapshot(DBSnapshotIdentifier=snapshots[0]["DBSnapshotIdentifier"])
