"""Each moto gap the CloudFormation path works around, as a test that fails once moto is fixed.

Every test here is `xfail(strict=True)`: it asserts what AWS does. While moto lacks the
feature the test fails and counts as xfailed; when moto gains it the test passes, strict
xfail turns that into a failure, and the reason says which workaround to remove.
"""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.moto


def _create(boto_session, template: dict, parameters: dict[str, str] | None = None) -> str:
    name = f"gap-{uuid.uuid4().hex[:8]}"
    boto_session.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()
        ],
    )
    return name


VPC = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.99.0.0/16"}}


def _db_instance(boto_session, second_octet: int, **properties) -> dict:
    """A stack with a PostgreSQL DBInstance (plus `properties`) in a fresh two-AZ subnet
    group; the instance as describe_db_instances reads it back."""
    ec2 = boto_session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=f"10.{second_octet}.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.{second_octet}.{i}.0/24", AvailabilityZone=f"eu-west-1{az}"
        )["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    template = {
        "Resources": {
            "Subnets": {
                "Type": "AWS::RDS::DBSubnetGroup",
                "Properties": {"DBSubnetGroupDescription": "gap", "SubnetIds": subnets},
            },
            "Db": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {
                    "Engine": "postgres",
                    "DBInstanceClass": "db.t4g.micro",
                    "AllocatedStorage": "20",
                    "MasterUsername": "gap",
                    "DBSubnetGroupName": {"Ref": "Subnets"},
                    **{k: (v(vpc) if callable(v) else v) for k, v in properties.items()},
                },
            },
        }
    }
    name = _create(boto_session, template)
    res = boto_session.client("cloudformation").describe_stack_resources(StackName=name)
    db_id = next(r for r in res["StackResources"] if r["LogicalResourceId"] == "Db")
    return boto_session.client("rds").describe_db_instances(
        DBInstanceIdentifier=db_id["PhysicalResourceId"]
    )["DBInstances"][0]


@pytest.mark.xfail(strict=True, reason="moto: GetAZs ignores its region (network.yaml AZ params)")
def test_getazs_uses_the_stack_region(boto_session):
    template = {
        "Resources": {
            "Vpc": VPC,
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": "10.99.1.0/24",
                    "AvailabilityZone": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                },
            },
        }
    }
    name = _create(boto_session, template)
    res = boto_session.client("cloudformation").describe_stack_resources(StackName=name)
    subnet_id = next(r for r in res["StackResources"] if r["LogicalResourceId"] == "Subnet")
    subnet = boto_session.client("ec2").describe_subnets(
        SubnetIds=[subnet_id["PhysicalResourceId"]]
    )["Subnets"][0]
    assert subnet["AvailabilityZone"].startswith("eu-west-1")


@pytest.mark.xfail(
    strict=True, reason="moto: CFN subnet associations not in DescribeRouteTables (test_parity)"
)
def test_subnet_route_table_association_shows_in_ec2(boto_session):
    template = {
        "Resources": {
            "Vpc": VPC,
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.99.1.0/24"},
            },
            "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "Association": {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Table"}},
            },
        }
    }
    name = _create(boto_session, template)
    res = boto_session.client("cloudformation").describe_stack_resources(StackName=name)
    ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in res["StackResources"]}
    tables = boto_session.client("ec2").describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [ids["Subnet"]]}]
    )["RouteTables"]
    assert [t["RouteTableId"] for t in tables] == [ids["Table"]]


@pytest.mark.xfail(
    strict=True,
    reason="moto: DBInstance ignores VPCSecurityGroups (test_parity MOTO_GAPS)",
    raises=AssertionError,
)
def test_db_instance_vpc_security_groups(boto_session):
    groups = []

    def group_in(vpc: str) -> list[str]:
        ec2 = boto_session.client("ec2")
        groups.append(
            ec2.create_security_group(GroupName="gap-db", Description="gap", VpcId=vpc)["GroupId"]
        )
        return groups

    db = _db_instance(
        boto_session, 95, MasterUserPassword="fake-gap-password", VPCSecurityGroups=group_in
    )
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == groups


@pytest.mark.xfail(
    strict=True,
    reason="moto: no ManageMasterUserPassword (TestOnlyMasterUserPassword)",
    raises=AssertionError,
)
def test_rds_managed_master_password(boto_session):
    db = _db_instance(boto_session, 98, ManageMasterUserPassword=True)
    assert "MasterUserSecret" in db


@pytest.mark.xfail(
    strict=True, reason="moto: Ref of DBParameterGroup is an object (no custom group)"
)
def test_ref_of_db_parameter_group_is_its_name(boto_session):
    template = {
        "Resources": {
            "Group": {
                "Type": "AWS::RDS::DBParameterGroup",
                "Properties": {"Description": "gap", "Family": "postgres16"},
            }
        },
        "Outputs": {"Name": {"Value": {"Ref": "Group"}}},
    }
    name = _create(boto_session, template)
    stack = boto_session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    group = stack["Outputs"][0]["OutputValue"]
    groups = boto_session.client("rds").describe_db_parameter_groups()["DBParameterGroups"]
    assert group in {g["DBParameterGroupName"] for g in groups}


@pytest.mark.xfail(strict=True, reason="moto: SSM parameter Tags as a map fail (TestOnlyMoto)")
def test_ssm_parameter_tags_as_map(boto_session):
    template = {
        "Resources": {
            "Param": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": f"/gap/{uuid.uuid4().hex[:6]}",
                    "Type": "String",
                    "Value": "x",
                    "Tags": {"Project": "gap"},
                },
            }
        }
    }
    _create(boto_session, template)


@pytest.mark.xfail(
    strict=True, reason="moto: short !GetAtt A.B.C split at every dot (long form used)"
)
def test_short_form_dotted_getatt(boto_session):
    ec2 = boto_session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.96.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.96.{i}.0/24", AvailabilityZone=f"eu-west-1{az}"
        )["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    template = f"""
Resources:
  Subnets:
    Type: AWS::RDS::DBSubnetGroup
    Properties: {{DBSubnetGroupDescription: gap, SubnetIds: [{subnets[0]}, {subnets[1]}]}}
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      DBInstanceClass: db.t4g.micro
      AllocatedStorage: "20"
      MasterUsername: gap
      MasterUserPassword: fake-gap-password
      DBSubnetGroupName: !Ref Subnets
Outputs:
  Address:
    Value: !GetAtt Db.Endpoint.Address
"""
    name = f"gap-{uuid.uuid4().hex[:8]}"
    boto_session.client("cloudformation").create_stack(StackName=name, TemplateBody=template)


@pytest.mark.xfail(strict=True, reason="moto: target group numbers from String parameters fail")
def test_target_group_numbers_from_string_parameters(boto_session):
    vpc = boto_session.client("ec2").create_vpc(CidrBlock="10.97.0.0/16")["Vpc"]["VpcId"]
    template = {
        "Parameters": {"Interval": {"Type": "String"}},
        "Resources": {
            "Tg": {
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {
                    "VpcId": vpc,
                    "Protocol": "HTTP",
                    "Port": 80,
                    "HealthCheckIntervalSeconds": {"Ref": "Interval"},
                    "HealthCheckTimeoutSeconds": 5,
                },
            }
        },
    }
    _create(boto_session, template, {"Interval": "15"})


@pytest.mark.xfail(strict=True, reason="moto: Number parameters always look changed (all String)")
def test_unchanged_number_parameter_is_no_update(boto_session):
    template = json.dumps(
        {
            "Parameters": {"Size": {"Type": "Number"}},
            "Resources": {
                "Param": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {"Type": "String", "Value": {"Ref": "Size"}, "Name": "/gap/num"},
                }
            },
        }
    )
    cfn = boto_session.client("cloudformation")
    params = [{"ParameterKey": "Size", "ParameterValue": "2"}]
    cfn.create_stack(StackName="gap-number", TemplateBody=template, Parameters=params)
    with pytest.raises(ClientError, match="No updates are to be performed"):
        cfn.update_stack(StackName="gap-number", TemplateBody=template, Parameters=params)


@pytest.mark.xfail(strict=True, reason="moto: CloudWatch alarms / scaling policies not created")
def test_alarm_and_scaling_policy_created(boto_session):
    template = {
        "Resources": {
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "gap-alarm",
                    "Namespace": "AWS/EC2",
                    "MetricName": "CPUUtilization",
                    "Statistic": "Average",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 80,
                    "ComparisonOperator": "GreaterThanThreshold",
                },
            }
        }
    }
    _create(boto_session, template)
    alarms = boto_session.client("cloudwatch").describe_alarms(AlarmNames=["gap-alarm"])
    assert alarms["MetricAlarms"]


@pytest.mark.xfail(
    strict=True, reason="moto: ignores CreationPolicy signals (script tested in Docker)"
)
def test_creation_policy_waits_for_signals(boto_session):
    template = {
        "Resources": {
            "Param": {
                "Type": "AWS::SSM::Parameter",
                "CreationPolicy": {"ResourceSignal": {"Count": 1, "Timeout": "PT1M"}},
                "Properties": {"Name": "/gap/signal", "Type": "String", "Value": "x"},
            }
        }
    }
    name = _create(boto_session, template)
    status = boto_session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    assert status["StackStatus"] == "CREATE_IN_PROGRESS"


@pytest.mark.xfail(
    strict=True, reason="moto: deleting a stack leaves its NAT gateway (test cleanup)"
)
def test_stack_delete_removes_nat_gateway(boto_session):
    template = {
        "Resources": {
            "Vpc": VPC,
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.99.1.0/24"},
            },
            "Eip": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
            "Nat": {
                "Type": "AWS::EC2::NatGateway",
                "Properties": {
                    "AllocationId": {"Fn::GetAtt": ["Eip", "AllocationId"]},
                    "SubnetId": {"Ref": "Subnet"},
                },
            },
        }
    }
    name = _create(boto_session, template)
    cfn = boto_session.client("cloudformation")
    nat_id = next(
        r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
        if r["LogicalResourceId"] == "Nat"
    )
    cfn.delete_stack(StackName=name)
    nats = boto_session.client("ec2").describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"]
    assert all(n["State"] in ("deleting", "deleted") for n in nats)
