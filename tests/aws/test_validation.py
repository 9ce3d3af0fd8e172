"""Bad input stops before any AWS call, with a message that names the variable.

Every infra.yml case runs the whole playbook: its first task checks every role's inputs, so a bad
value for the last role (asg) stops the play before the first role (vpc) created anything. The
role-alone cases check that a role used on its own validates what the earlier roles would hand it.
"""

from __future__ import annotations

import json

import pytest

from .helpers import HERE, random_project, run_playbook, tagged_leftovers

SUBNET = "subnet-0123456789abcdef0"
TARGET_GROUP = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x-dev-app/0123456789abcdef"
)
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

# (case id, playbook, inventory, extra vars, variable the message must name, text it must contain)
CASES = [
    (
        "malformed-cidr",
        "infra.yml",
        "dev",
        {"vpc_cidr": "10.40.0.0/33"},
        "vpc_cidr",
        "Malformed CIDR",
    ),
    (
        "cidr-not-network",
        "infra.yml",
        "dev",
        {"vpc_cidr": "10.40.3.0/16"},
        "vpc_cidr",
        "Malformed CIDR",
    ),
    (
        "overlapping-subnets",
        "infra.yml",
        "dev",
        {"vpc_private_subnet_cidrs": ["10.40.0.128/25", "10.40.11.0/24"]},
        "vpc_private_subnet_cidrs",
        "overlaps",
    ),
    (
        "subnet-outside-vpc",
        "infra.yml",
        "dev",
        {"vpc_database_subnet_cidrs": ["10.99.20.0/24", "10.40.21.0/24"]},
        "vpc_database_subnet_cidrs",
        "outside vpc_cidr",
    ),
    (
        "one-az-in-prod",
        "infra.yml",
        "prod",
        {
            "vpc_public_subnet_cidrs": ["10.50.0.0/24"],
            "vpc_private_subnet_cidrs": ["10.50.10.0/23"],
            "vpc_database_subnet_cidrs": ["10.50.20.0/24"],
        },
        "vpc_public_subnet_cidrs",
        "at least 2 AZs",
    ),
    (
        "empty-project",
        "infra.yml",
        "dev",
        {"devops_project": ""},
        "devops_project",
        "must be 1-20 characters",
    ),
    (
        "unknown-nat-mode",
        "infra.yml",
        "dev",
        {"vpc_nat_gateway_mode": "both"},
        "vpc_nat_gateway_mode",
        "choices",
    ),
    (
        "min-above-max",
        "infra.yml",
        "dev",
        {"asg_min_size": 3, "asg_max_size": 2},
        "asg_min_size",
        "asg_max_size",
    ),
    (
        "desired-above-max",
        "infra.yml",
        "dev",
        {"asg_desired_capacity": 5},
        "asg_desired_capacity",
        "[asg_min_size",
    ),
    (
        "instance-type-shape",
        "infra.yml",
        "dev",
        {"launch_template_instance_type": "t3small"},
        "launch_template_instance_type",
        "must look like",
    ),
    (
        "db-class-shape",
        "infra.yml",
        "dev",
        {"rds_instance_class": "t4g.micro"},
        "rds_instance_class",
        "must look like",
    ),
    (
        "https-without-certificate",
        "infra.yml",
        "dev",
        {"alb_https_required": True, "alb_certificate_arn": ""},
        "alb_certificate_arn",
        "alb_https_required",
    ),
    (
        "desired-below-min",
        "infra.yml",
        "dev",
        {"asg_min_size": 2, "asg_desired_capacity": 1},
        "asg_desired_capacity",
        "[asg_min_size",
    ),
    (
        "same-az-twice",
        "infra.yml",
        "dev",
        {"vpc_availability_zones": ["eu-west-1a", "eu-west-1a"]},
        "vpc_availability_zones",
        "distinct",
    ),
    (
        "az-of-another-region",
        "infra.yml",
        "dev",
        {"vpc_availability_zones": ["eu-west-1a", "us-east-1b"]},
        "vpc_availability_zones",
        "eu-west-1",
    ),
    (
        "ssh-port-on-app",
        "infra.yml",
        "dev",
        {"security_groups_monitoring_ports": [9100, 22]},
        "security_groups_monitoring_ports",
        "port 22",
    ),
    (
        "world-open-monitoring",
        "infra.yml",
        "dev",
        {"security_groups_monitoring_admin_cidrs": ["0.0.0.0/0"]},
        "security_groups_monitoring_admin_cidrs",
        "0.0.0.0/0",
    ),
    (
        "prod-https-without-certificate",
        "infra.yml",
        "prod",
        {"alb_certificate_arn": ""},
        "alb_certificate_arn",
        "alb_https_required",
    ),
    (
        "bad-alarm-email",
        "infra.yml",
        "dev",
        {"alarms_email": "oncall-at-example.com"},
        "alarms_email",
        "email address",
    ),
    (
        "role-alone-elb-check-without-target-group",
        "asg",
        "dev",
        {"asg_target_group_arns": []},
        "asg_target_group_arns",
        "asg_health_check_type",
    ),
    (
        "role-alone-alb-one-subnet",
        "alb",
        "dev",
        {"alb_subnet_ids": [SUBNET]},
        "alb_subnet_ids",
        "two subnets",
    ),
]


# The only tasks that may run before the failure: input checks, which make no AWS call, and the
# include_role tasks that bring them in (infra.yml's first task, role.yml's only one).
CHECK_TASKS = (
    "Preflight",
    "Validating arguments",
    "Refuse",
    "Check every role's inputs",
    "Apply the role under test",
)


def _assert_stopped_before_any_change(run, project, boto_session, variable, text):
    assert run.returncode != 0, run.output[-3000:]
    tasks = [line for line in run.output.splitlines() if line.startswith("TASK [")]
    assert tasks and all(any(k in task for k in CHECK_TASKS) for task in tasks), tasks
    assert run.recap["changed"] == 0
    assert run.recap["failed"] == 1
    failed = run.output[run.output.rfind("TASK [") :]
    assert any(
        k in failed.splitlines()[0] for k in ("Preflight", "Validating arguments", "Refuse")
    ), failed[:300]
    assert variable in failed, failed[-2000:]
    assert text in failed, failed[-2000:]
    assert tagged_leftovers(boto_session, project) == []
    vpcs = boto_session.client("ec2").describe_vpcs(
        Filters=[{"Name": "tag:Project", "Values": [project]}]
    )
    assert vpcs["Vpcs"] == []


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_refused(aws_env, boto_session, case):
    _, playbook, inventory, extra, variable, text = case
    project = random_project()
    env = {
        **aws_env,
        "DEVOPS_TEST_PROJECT": project,
        "DEVOPS_TEST_AMI_ID": "",
        "DEVOPS_TEST_CERTIFICATE_ARN": "",
    }
    if playbook in ROLE_INPUTS:
        extra = {"role_under_test": playbook, **ROLE_INPUTS[playbook], **extra}
        playbook = HERE / "role.yml"
    run = run_playbook(playbook, HERE / f"inventory_{inventory}", env, "-e", json.dumps(extra))
    _assert_stopped_before_any_change(run, project, boto_session, variable, text)


def test_teardown_refuses_prod_without_confirmation(aws_env, boto_session):
    project = random_project()
    env = {**aws_env, "DEVOPS_TEST_PROJECT": project, "DEVOPS_TEST_CERTIFICATE_ARN": ""}
    run = run_playbook(
        "teardown.yml", HERE / "inventory_prod", env, "-e", "teardown_confirm=notes-prod"
    )
    _assert_stopped_before_any_change(
        run, project, boto_session, "teardown_confirm", f"{project}-prod"
    )


def test_tags_do_not_skip_the_checks_of_the_other_roles(aws_env, boto_session):
    """--tags vpc runs only the vpc role, yet a bad asg value stops it before the VPC exists."""
    project = random_project()
    env = {**aws_env, "DEVOPS_TEST_PROJECT": project, "DEVOPS_TEST_AMI_ID": ""}
    run = run_playbook(
        "infra.yml",
        HERE / "inventory_dev",
        env,
        "--tags",
        "vpc",
        "-e",
        json.dumps({"asg_min_size": 3}),
    )
    _assert_stopped_before_any_change(run, project, boto_session, "asg_min_size", "asg_max_size")
