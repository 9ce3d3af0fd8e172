"""Parity: the role path (playbooks/infra.yml) and the CloudFormation path.

Both are deployed with the dev values under different project names, read back with
boto3 into the same shape, and compared. Any difference fails with a readable diff.

Each path gets its own moto server: moto 5.2.5 tags the EIP a stack creates under its public
IP, and from then on DescribeTags with a resource-type filter (the role path's subnet task)
answers HTTP 500 (KeyError on the id prefix); test_roles_after_cloudformation_on_one_moto
notices when that is fixed.

Two more moto gaps touch the CloudFormation side (canaries in test_moto_gaps.py): subnet
route table associations made by a stack are not in DescribeRouteTables, so the snapshot
takes a subnet's table from the stack's own association resource (routes still come from
EC2); and a DBInstance ignores VPCSecurityGroups, so the database's attached group is not
compared (MOTO_GAPS); its rules are, through the Role tag both paths set.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from cfnlib import REPO, parse_template, run_playbook
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


class _Session:
    """boto3 clients bound to one moto server (the shape of the `boto_session` fixture)."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def client(self, name: str):
        return boto3.client(
            name,
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name=self.env["AWS_DEFAULT_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=self.env.get("AWS_SESSION_TOKEN"),
        )


@contextlib.contextmanager
def _own_moto(aws_env: dict[str, str]):
    """A second moto server on 127.0.0.1 for the role path; yields its environment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Path(sys.executable).parent / "moto_server"
    env = {**aws_env, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):  # noqa: S310 - loopback
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield {**aws_env, "AWS_ENDPOINT_URL": url}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _tags(items) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


# Known moto gaps on the CloudFormation path, each with a canary in test_moto_gaps.py:
# key -> (the value AWS gives and the role path must show, why CloudFormation's is unreadable).
MOTO_GAPS = {
    ("attached_groups", "rds"): (
        ["db"],
        "moto's AWS::RDS::DBInstance ignores VPCSecurityGroups (reads VpcSecurityGroupIds)",
    ),
}


def _stack_route_tables(boto_session, project: str) -> dict[str, str]:
    """Subnet id -> route table id, from the project's AWS::EC2::SubnetRouteTableAssociation
    resources: moto's CloudFormation records them but never shows them in DescribeRouteTables."""
    cfn = boto_session.client("cloudformation")
    tables = {}
    for stack in cfn.describe_stacks()["Stacks"]:
        if _tags(stack.get("Tags")).get("Project") != project:
            continue
        name = stack["StackName"]
        physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
            # moto also lists resources whose Condition is false, without these keys
            if "LogicalResourceId" in r and "PhysicalResourceId" in r
        }
        template = parse_template(cfn.get_template(StackName=name)["TemplateBody"])
        for logical, resource in template["Resources"].items():
            if resource["Type"] == "AWS::EC2::SubnetRouteTableAssociation" and logical in physical:
                props = resource["Properties"]
                tables[physical[props["SubnetId"]["Ref"]]] = physical[props["RouteTableId"]["Ref"]]
    return tables


def _route_kind(ec2, subnet_id: str, vpc_id: str, stack_tables: dict[str, str]) -> str:
    """What the subnet's 0.0.0.0/0 points at: its explicit table, else the main one."""
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
    )["RouteTables"]
    if not tables and subnet_id in stack_tables:  # moto gap: see _stack_route_tables
        tables = ec2.describe_route_tables(RouteTableIds=[stack_tables[subnet_id]])["RouteTables"]
    if not tables:
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
            return "other:" + ",".join(sorted(k for k in route if k.endswith("Id")))
    return "none"


def _group_label(group: dict, vpc_id: str) -> str:
    """Both paths tag each group with its Role (alb, app, db, monitoring)."""
    if group.get("VpcId") != vpc_id:
        return f"outside-vpc:{group['GroupName']}"
    return _tags(group.get("Tags")).get("Role", f"untagged:{group['GroupName']}")


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
    stack_tables = _stack_route_tables(boto_session, project)
    subnet_tiers = {}
    for tier, ids in tiers.items():
        subnets = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
        subnet_tiers[tier] = {
            "subnets": len(subnets),
            "azs": len({s["AvailabilityZone"] for s in subnets}),
            "default_route": sorted(
                {_route_kind(ec2, s["SubnetId"], vpc["VpcId"], stack_tables) for s in subnets}
            ),
        }

    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
        "SecurityGroups"
    ]
    label = {g["GroupId"]: _group_label(g, vpc["VpcId"]) for g in groups}
    attached = {
        "load_balancer": lb["SecurityGroups"],
        "launch_template": lt.get("SecurityGroupIds", []),
        "rds": [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]],
    }
    elsewhere = {i for ids in attached.values() for i in ids} - set(label)
    if elsewhere:
        for g in ec2.describe_security_groups(GroupIds=sorted(elsewhere))["SecurityGroups"]:
            label[g["GroupId"]] = _group_label(g, vpc["VpcId"])
    edges = set()
    for g in groups:
        if g["GroupName"] == "default":
            continue
        for perm in g["IpPermissions"]:
            first, last = perm.get("FromPort"), perm.get("ToPort")
            ports = f"{perm.get('IpProtocol')}/{first}" + ("" if first == last else f"-{last}")
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
        "attached_groups": {k: sorted(label[i] for i in ids) for k, ids in attached.items()},
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


def _show(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={_show(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list):
        return ",".join(_show(v) for v in value) or "-"
    return str(value).lower() if isinstance(value, bool) else str(value)


def parity_rows(roles: dict, cfn: dict) -> list[tuple[str, str, str, str]]:
    """(property, roles, cloudformation, same?) per second-level key; list sections per item."""
    rows = []
    for section, value in roles.items():
        other = cfn.get(section)
        if isinstance(value, list):
            for item in sorted(set(value) | set(other or [])):
                present = ("yes" if item in value else "-", "yes" if item in (other or []) else "-")
                rows.append(
                    (f"{section}: {item}", *present, "yes" if present[0] == present[1] else "NO")
                )
            continue
        for key in sorted(set(value) | set(other or {})):
            mine, theirs = value.get(key), (other or {}).get(key)
            same = "yes" if mine == theirs else "NO"
            if (section, key) in MOTO_GAPS:
                same = "not compared (moto gap)"
            rows.append((f"{section}.{key}", _show(mine), _show(theirs), same))
    return rows


def format_table(rows) -> str:
    header = ("property", "roles", "cloudformation", "same?")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    return "\n".join(
        " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def test_roles_and_cloudformation_build_the_same_thing(aws_env, boto_session):
    ami = moto_ami(boto_session)
    cfn_project = f"cfnp{uuid.uuid4().hex[:5]}"
    role_project = f"rolp{uuid.uuid4().hex[:5]}"

    cfn_run = run_playbook(
        aws_env, cfn_overrides(cfn_project, ami), playbook="cloudformation.yml", inventory=INVENTORY
    )
    assert cfn_run.returncode == 0, cfn_run.stdout[-4000:]
    with _own_moto(aws_env) as role_moto:
        role_session = _Session(role_moto)
        role_env = {
            **role_moto,
            "DEVOPS_TEST_PROJECT": role_project,
            "DEVOPS_TEST_AMI_ID": moto_ami(role_session),
        }
        role_run = run_playbook(role_env, {}, playbook="infra.yml", inventory=ROLE_INVENTORY)
        assert role_run.returncode == 0, role_run.stdout[-4000:]
        roles = snapshot(role_session, role_project)
    cfn = snapshot(boto_session, cfn_project)
    print(
        f"\nparity, dev values on moto:\n{format_table(parity_rows(roles, cfn))}\n"
        "(CloudFormation subnets' route tables read from the stack's associations: moto gap)"
    )

    for (section, key), (aws_value, reason) in MOTO_GAPS.items():
        assert roles[section][key] == aws_value, f"role path {section}.{key}: {roles[section][key]}"
        roles[section][key] = cfn[section][key] = f"not compared: {reason}"
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


@pytest.mark.xfail(strict=True, reason="moto 5.2.5: DescribeTags 500 once a stack made an EIP")
def test_roles_after_cloudformation_on_one_moto(aws_env, boto_session):
    """Notices when moto can run the role path beside a CloudFormation network again:
    then the parity test can go back to a single server."""
    ami = moto_ami(boto_session)
    cfn_project = f"cfng{uuid.uuid4().hex[:5]}"
    cfn_run = run_playbook(
        aws_env, cfn_overrides(cfn_project, ami), playbook="cloudformation.yml", inventory=INVENTORY
    )
    assert cfn_run.returncode == 0, cfn_run.stdout[-4000:]
    role_env = {**aws_env, "DEVOPS_TEST_PROJECT": f"rolg{uuid.uuid4().hex[:5]}"}
    role_env["DEVOPS_TEST_AMI_ID"] = ami
    role_run = run_playbook(role_env, {}, playbook="infra.yml", inventory=ROLE_INVENTORY)
    assert role_run.returncode == 0
