"""Parity: the role path (playbooks/infra.yml) and the CloudFormation path, same moto.

Both are deployed with the dev values under different project names, read back with
boto3 into the same shape, and compared. Any difference fails with a readable diff.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import uuid

import pytest
from cfnlib import REPO, run_playbook
from test_deploy_moto import INVENTORY, cfn_overrides, moto_ami

ROLE_INVENTORY = REPO / "tests" / "cfn" / "inventory_roles"


def _infra_committed() -> bool:
    out = subprocess.run(
        ["git", "log", "--oneline", "-1", "--", "playbooks/infra.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return bool(out.stdout.strip())


# The AWS roles and playbooks/infra.yml were being written in parallel with this test;
# CFN_PARITY_FORCE=1 runs it against an uncommitted infra.yml.
pytestmark = [
    pytest.mark.moto,
    pytest.mark.skipif(
        not _infra_committed() and not os.environ.get("CFN_PARITY_FORCE"),
        reason="playbooks/infra.yml is not committed yet (AWS tier in progress): parity cannot run",
    ),
]


def _tags(items) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def _route_kind(ec2, subnet_id: str, vpc_id: str) -> str:
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
    )["RouteTables"]
    if not tables:  # main route table
        tables = ec2.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"]
    for route in tables[0]["Routes"]:
        if route.get("DestinationCidrBlock") == "0.0.0.0/0":
            if route.get("GatewayId", "").startswith("igw-"):
                return "internet-gateway"
            if route.get("NatGatewayId"):
                return "nat-gateway"
    return "none"


def snapshot(boto_session, project: str) -> dict:
    """The properties that matter, keyed by role, with no ids or names in them."""
    ec2 = boto_session.client("ec2")
    elbv2 = boto_session.client("elbv2")
    asg_api = boto_session.client("autoscaling")
    rds = boto_session.client("rds")

    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Project", "Values": [project]}])["Vpcs"][0]
    group = next(
        g
        for g in asg_api.describe_auto_scaling_groups()["AutoScalingGroups"]
        if _tags(g["Tags"]).get("Project") == project
    )
    lb = next(
        lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["VpcId"] == vpc["VpcId"]
    )
    db = next(
        d
        for d in rds.describe_db_instances()["DBInstances"]
        if d["DBSubnetGroup"]["VpcId"] == vpc["VpcId"]
    )
    lt = ec2.describe_launch_template_versions(
        LaunchTemplateId=group["LaunchTemplate"]["LaunchTemplateId"], Versions=["$Latest"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]

    tiers = {
        "public": [a["SubnetId"] for a in lb["AvailabilityZones"]],
        "private": group["VPCZoneIdentifier"].split(","),
        "database": [s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]],
    }
    subnet_tiers = {}
    for tier, ids in tiers.items():
        subnets = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
        subnet_tiers[tier] = {
            "subnets": len(subnets),
            "azs": len({s["AvailabilityZone"] for s in subnets}),
            "default_route": sorted(
                {_route_kind(ec2, s["SubnetId"], vpc["VpcId"]) for s in subnets}
            ),
        }

    label = {g: "alb" for g in lb["SecurityGroups"]}
    label.update({g: "app" for g in lt.get("SecurityGroupIds", [])})
    label.update({g["VpcSecurityGroupId"]: "db" for g in db["VpcSecurityGroups"]})
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
        "SecurityGroups"
    ]
    for g in groups:
        if g["GroupId"] not in label and g["GroupName"] != "default":
            label[g["GroupId"]] = (
                "monitoring" if "monitor" in json.dumps(g).lower() else g["GroupName"]
            )
    edges = set()
    for g in groups:
        if g["GroupName"] == "default":
            continue
        for perm in g["IpPermissions"]:
            ports = f"{perm.get('IpProtocol')}/{perm.get('FromPort')}-{perm.get('ToPort')}"
            for rng in perm.get("IpRanges", []):
                edges.add(f"{rng['CidrIp']} -> {label[g['GroupId']]} {ports}")
            for pair in perm.get("UserIdGroupPairs", []):
                edges.add(f"{label.get(pair['GroupId'], '?')} -> {label[g['GroupId']]} {ports}")

    tg = elbv2.describe_target_groups(TargetGroupArns=group["TargetGroupARNs"][:1])["TargetGroups"][
        0
    ]
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]

    return {
        "subnet_tiers": subnet_tiers,
        "security_group_rules": sorted(edges),
        "launch_template": {
            "http_tokens": lt["MetadataOptions"]["HttpTokens"],
            "hop_limit": lt["MetadataOptions"].get("HttpPutResponseHopLimit"),
            "ebs_encrypted": sorted(
                {m["Ebs"].get("Encrypted", False) for m in lt["BlockDeviceMappings"]}
            ),
            "instance_profile": bool(lt.get("IamInstanceProfile")),
        },
        "auto_scaling_group": {
            "min": group["MinSize"],
            "max": group["MaxSize"],
            "desired": group["DesiredCapacity"],
            "health_check_type": group["HealthCheckType"],
            "grace_period": group["HealthCheckGracePeriod"],
        },
        "target_group": {
            "protocol": tg["Protocol"],
            "port": tg["Port"],
            "path": tg["HealthCheckPath"],
            "interval": tg["HealthCheckIntervalSeconds"],
            "timeout": tg["HealthCheckTimeoutSeconds"],
            "healthy": tg["HealthyThresholdCount"],
            "unhealthy": tg["UnhealthyThresholdCount"],
            "matcher": tg["Matcher"]["HttpCode"],
        },
        "listeners": sorted(
            f"{x['Protocol']}:{x['Port']} {x['DefaultActions'][0]['Type']}" for x in listeners
        ),
        "rds": {
            "engine": db["Engine"],
            "encrypted": db["StorageEncrypted"],
            "public": db["PubliclyAccessible"],
            "multi_az": db["MultiAZ"],
            "backup_retention": db["BackupRetentionPeriod"],
        },
    }


def test_roles_and_cloudformation_build_the_same_thing(aws_env, boto_session):
    ami = moto_ami(boto_session)
    cfn_project = f"cfnp{uuid.uuid4().hex[:5]}"
    role_project = f"rolp{uuid.uuid4().hex[:5]}"

    cfn_run = run_playbook(
        aws_env, cfn_overrides(cfn_project, ami), playbook="cloudformation.yml", inventory=INVENTORY
    )
    assert cfn_run.returncode == 0, cfn_run.stdout[-4000:]
    role_env = {**aws_env, "DEVOPS_TEST_PROJECT": role_project, "DEVOPS_TEST_AMI_ID": ami}
    role_run = run_playbook(role_env, {}, playbook="infra.yml", inventory=ROLE_INVENTORY)
    assert role_run.returncode == 0, role_run.stdout[-4000:]

    roles = snapshot(boto_session, role_project)
    cfn = snapshot(boto_session, cfn_project)
    table = "\n".join(
        f"{key:22} roles={json.dumps(roles[key], sort_keys=True)}\n"
        f"{'':22} cfn  ={json.dumps(cfn[key], sort_keys=True)}"
        for key in roles
    )
    print(f"parity table:\n{table}")
    diff = "\n".join(
        difflib.unified_diff(
            json.dumps(roles, indent=2, sort_keys=True).splitlines(),
            json.dumps(cfn, indent=2, sort_keys=True).splitlines(),
            fromfile=f"roles ({role_project})",
            tofile=f"cloudformation ({cfn_project})",
            lineterm="",
        )
    )
    assert roles == cfn, f"role path and CloudFormation path differ:\n{diff}"
