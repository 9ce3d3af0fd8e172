"""Bad input stops before any AWS call, with a message that names the variable.

Every infra.yml case runs the whole playbook: its first task checks every role's inputs, so a bad
value for the last role (asg) stops the play before the first role (vpc) created anything. The
role-alone cases check that a role used on its own validates what the earlier roles would hand it.
The cases are a table for the shared harness (tests/badinput.py); this file adds the AWS side of
"before any change": nothing tagged with the case's project exists afterwards.
"""

from __future__ import annotations

from functools import partial

import pytest
from badinput import APPLY_ROLE, assert_refused, case, run

from .helpers import HERE, random_project, tagged_leftovers

SUBNET = "subnet-0123456789abcdef0"
TARGET_GROUP = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x-dev-app/0123456789abcdef"
)
# What the earlier roles would hand a role applied alone.
ROLE_INPUTS = {
    "asg": {
        "asg_subnet_ids": [SUBNET, "subnet-0123456789abcdef1"],
        "asg_target_group_arns": [TARGET_GROUP],
    },
    "alb": {
        "alb_vpc_id": "vpc-0123456789abcdef0",
        "alb_subnet_ids": [SUBNET, "subnet-0123456789abcdef1"],
        "alb_security_group_ids": ["sg-0123456789abcdef0"],
    },
}
infra = partial(case, "infra.yml")
PROD = {"inventory": "prod"}

# id -> case(playbook or role alone, variable the message names, bad extra vars, text it contains)
CASES = {
    "malformed-cidr": infra("vpc_cidr", {"vpc_cidr": "10.40.0.0/33"}, "Malformed CIDR"),
    "cidr-not-network": infra("vpc_cidr", {"vpc_cidr": "10.40.3.0/16"}, "Malformed CIDR"),
    "overlapping-subnets": infra(
        "vpc_private_subnet_cidrs",
        {"vpc_private_subnet_cidrs": ["10.40.0.128/25", "10.40.11.0/24"]},
        "overlaps",
    ),
    "subnet-outside-vpc": infra(
        "vpc_database_subnet_cidrs",
        {"vpc_database_subnet_cidrs": ["10.99.20.0/24", "10.40.21.0/24"]},
        "outside vpc_cidr",
    ),
    "one-az-in-prod": infra(
        "vpc_public_subnet_cidrs",
        {
            "vpc_public_subnet_cidrs": ["10.50.0.0/24"],
            "vpc_private_subnet_cidrs": ["10.50.10.0/23"],
            "vpc_database_subnet_cidrs": ["10.50.20.0/24"],
        },
        "at least 2 AZs",
        **PROD,
    ),
    "empty-project": infra("devops_project", {"devops_project": ""}, "must be 1-20 characters"),
    "unknown-nat-mode": infra(
        "vpc_nat_gateway_mode", {"vpc_nat_gateway_mode": "both"}, "must be one of", "got: both"
    ),
    "min-above-max": infra("asg_min_size", {"asg_min_size": 3, "asg_max_size": 2}, "asg_max_size"),
    "desired-above-max": infra(
        "asg_desired_capacity", {"asg_desired_capacity": 5}, "[asg_min_size"
    ),
    "instance-type-shape": infra(
        "launch_template_instance_type",
        {"launch_template_instance_type": "t3small"},
        "must look like",
    ),
    "db-class-shape": infra(
        "rds_instance_class", {"rds_instance_class": "t4g.micro"}, "must look like"
    ),
    "https-without-certificate": infra(
        "alb_certificate_arn",
        {"alb_https_required": True, "alb_certificate_arn": ""},
        "alb_https_required",
    ),
    "desired-below-min": infra(
        "asg_desired_capacity", {"asg_min_size": 2, "asg_desired_capacity": 1}, "[asg_min_size"
    ),
    "same-az-twice": infra(
        "vpc_availability_zones",
        {"vpc_availability_zones": ["eu-west-1a", "eu-west-1a"]},
        "distinct",
    ),
    "az-of-another-region": infra(
        "vpc_availability_zones",
        {"vpc_availability_zones": ["eu-west-1a", "us-east-1b"]},
        "eu-west-1",
    ),
    "ssh-port-on-app": infra(
        "security_groups_monitoring_ports",
        {"security_groups_monitoring_ports": [9100, 22]},
        "port 22",
    ),
    "world-open-monitoring": infra(
        "security_groups_monitoring_admin_cidrs",
        {"security_groups_monitoring_admin_cidrs": ["0.0.0.0/0"]},
        "0.0.0.0/0",
    ),
    "prod-https-without-certificate": infra(
        "alb_certificate_arn", {"alb_certificate_arn": ""}, "alb_https_required", **PROD
    ),
    "bad-alarm-email": infra(
        "alarms_email", {"alarms_email": "oncall-at-example.com"}, "email address"
    ),
    "role-alone-elb-check-without-target-group": case(
        "asg", "asg_target_group_arns", {"asg_target_group_arns": []}, "asg_health_check_type"
    ),
    "role-alone-alb-one-subnet": case(
        "alb", "alb_subnet_ids", {"alb_subnet_ids": [SUBNET]}, "two subnets"
    ),
}


# The only tasks that may run before the failure: input checks, which make no AWS call, and the
# include_role tasks that bring them in (infra.yml's first task, apply_role.yml's only one).
CHECK_TASKS = (
    "Preflight",
    "Validating arguments",
    "Refuse",
    "Check every role's inputs",
    "Apply the role under test",
)
FAILS_AT = ("Preflight", "Validating arguments", "Refuse")


def _assert_refused_before_any_change(boto_session, env, project, bad, *args):
    env = {**env, "DEVOPS_TEST_PROJECT": project}
    base = ROLE_INPUTS.get(bad.target) if bad.playbook == APPLY_ROLE else None
    inventory = HERE / f"inventory_{bad.inventory or 'dev'}"
    result = run(bad, inventory, *args, base=base, env=env, check=False)
    assert_refused(
        result,
        bad,
        may_run=lambda task: any(k in task for k in CHECK_TASKS),
        fails_at=lambda task: any(k in task for k in FAILS_AT),
    )
    assert tagged_leftovers(boto_session, project) == []
    vpcs = boto_session.client("ec2").describe_vpcs(
        Filters=[{"Name": "tag:Project", "Values": [project]}]
    )
    assert vpcs["Vpcs"] == []


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused(aws_env, boto_session, name):
    env = {**aws_env, "DEVOPS_TEST_AMI_ID": "", "DEVOPS_TEST_CERTIFICATE_ARN": ""}
    _assert_refused_before_any_change(boto_session, env, random_project(), CASES[name])


def test_teardown_refuses_prod_without_confirmation(aws_env, boto_session):
    project = random_project()
    bad = case(
        "teardown.yml",
        "teardown_confirm",
        {"teardown_confirm": "notes-prod"},
        f"{project}-prod",
        **PROD,
    )
    env = {**aws_env, "DEVOPS_TEST_CERTIFICATE_ARN": ""}
    _assert_refused_before_any_change(boto_session, env, project, bad)


def test_tags_do_not_skip_the_checks_of_the_other_roles(aws_env, boto_session):
    """--tags vpc runs only the vpc role, yet a bad asg value stops it before the VPC exists."""
    bad = infra("asg_min_size", {"asg_min_size": 3}, "asg_max_size")
    env = {**aws_env, "DEVOPS_TEST_AMI_ID": ""}
    _assert_refused_before_any_change(boto_session, env, random_project(), bad, "--tags", "vpc")
