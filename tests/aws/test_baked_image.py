"""launch_template prefers the image bake_ami.yml baked for the project over the base image.

Without it, infra.yml after a bake would point the launch template back at bare Debian.
"""

from __future__ import annotations

import json

import pytest
from badinput import APPLY_ROLE

from .helpers import HERE, random_project, run_playbook

ENVIRONMENT = "test"
PLAY = HERE / "baked_image_play.yml"


def _bake(ec2, instance_id: str, name: str, project: str) -> str:
    """What bake_ami.yml leaves behind: an image of this account with the bake tags."""
    image = ec2.create_image(InstanceId=instance_id, Name=name)["ImageId"]
    tags = {"Project": project, "Environment": ENVIRONMENT, "ManagedBy": "devops.django"}
    ec2.create_tags(
        Resources=[image],
        Tags=[{"Key": k, "Value": v} for k, v in {**tags, "Role": "app"}.items()],
    )
    return image


@pytest.fixture
def setting(tmp_path, aws_env, boto_session, moto_ami_id):
    project = random_project()
    ec2 = boto_session.client("ec2")
    instance = ec2.run_instances(ImageId=moto_ami_id, MinCount=1, MaxCount=1)["Instances"][0]
    inventory = tmp_path / "inventory.yml"
    common = {
        "devops_project": project,
        "devops_environment": ENVIRONMENT,
        "devops_aws_region": aws_env["AWS_DEFAULT_REGION"],
        "devops_aws_endpoint_url": aws_env["AWS_ENDPOINT_URL"],
        "launch_template_security_group_ids": ["sg-0123456789abcdef0"],
        # moto has no Debian images (test_moto_gaps): the base lookup finds Amazon Linux.
        "launch_template_ami_owners": ["137112412989"],
        "launch_template_ami_name_pattern": "al2023-ami-2023.*-x86_64",
    }
    local = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }
    inventory.write_text(
        json.dumps({"all": {"vars": common}, "aws_controller": {"hosts": {"localhost": local}}})
    )
    yield {
        "project": project,
        "inventory": inventory,
        "ec2": ec2,
        "instance": instance["InstanceId"],
    }
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    # moto lacks DeleteLaunchTemplateVersions (test_moto_gaps): delete the template directly.
    name = f"{project}-{ENVIRONMENT}-app"
    if ec2.describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": [name]}])[
        "LaunchTemplates"
    ]:
        ec2.delete_launch_template(LaunchTemplateName=name)
    gone = run_playbook(
        APPLY_ROLE,
        inventory,
        aws_env,
        "-e",
        "role_under_test=launch_template",
        "-e",
        "launch_template_state=absent",
    )
    assert gone.returncode == 0, gone.output[-3000:]


def _image_of_template(ec2, project: str) -> str:
    versions = ec2.describe_launch_template_versions(
        LaunchTemplateName=f"{project}-{ENVIRONMENT}-app", Versions=["$Latest"]
    )["LaunchTemplateVersions"]
    return versions[0]["LaunchTemplateData"]["ImageId"]


def test_base_image_until_baked_then_the_newest_baked_image(aws_env, setting, moto_ami_id):
    ec2, project = setting["ec2"], setting["project"]
    # An image baked for another project must never be picked.
    _bake(ec2, setting["instance"], f"{random_project()}-{ENVIRONMENT}-app-9", random_project())

    first = run_playbook(PLAY, setting["inventory"], aws_env, "-e", "expected_image_source=lookup")
    assert first.returncode == 0, first.output[-4000:]
    base = _image_of_template(ec2, project)
    assert base.startswith("ami-")

    _bake(ec2, setting["instance"], f"{project}-{ENVIRONMENT}-app-1", project)
    newest = _bake(ec2, setting["instance"], f"{project}-{ENVIRONMENT}-app-2", project)
    second = run_playbook(PLAY, setting["inventory"], aws_env, "-e", "expected_image_source=baked")
    assert second.returncode == 0, second.output[-4000:]
    assert _image_of_template(ec2, project) == newest != base

    pinned = run_playbook(
        PLAY,
        setting["inventory"],
        aws_env,
        "-e",
        "expected_image_source=ami_id",
        "-e",
        f"launch_template_ami_id={moto_ami_id}",
    )
    assert pinned.returncode == 0, pinned.output[-4000:]
    assert _image_of_template(ec2, project) == moto_ami_id
