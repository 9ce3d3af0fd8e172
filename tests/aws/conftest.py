"""Fixtures of the AWS tier tests: dev-like and prod-like stacks built by infra.yml on moto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from .helpers import HERE, Run, random_project, run_playbook


@dataclass
class Stack:
    project: str
    environment: str
    env: dict[str, str]
    inventory: object
    runs: dict[str, Run] = field(default_factory=dict)
    torn_down: bool = False

    def teardown(self, *args: str) -> Run:
        return run_playbook("teardown.yml", self.inventory, self.env, *args)


def _record_timing(request, name: str, run: Run) -> None:
    """Keep infra.yml durations in pytest's cache: `pytest --cache-show 'aws/*'` prints them."""
    data = request.config.cache.get("aws/timings", {})
    data[name] = round(run.seconds, 1)
    request.config.cache.set("aws/timings", data)


@pytest.fixture(scope="session")
def moto_ami_id(boto_session) -> str:
    """An x86_64 Amazon Linux 2023 image id that moto ships (moto has no Debian images)."""
    images = boto_session.client("ec2").describe_images(
        Owners=["137112412989"],
        Filters=[
            {"Name": "name", "Values": ["al2023-ami-2023.*-x86_64"]},
            {"Name": "architecture", "Values": ["x86_64"]},
        ],
    )["Images"]
    assert images, "moto ships no Amazon Linux 2023 image any more: pick another AMI here"
    return sorted(images, key=lambda i: i["ImageId"])[0]["ImageId"]


@pytest.fixture(scope="module")
def dev_stack(request, aws_env, moto_ami_id) -> Iterator[Stack]:
    """infra.yml twice with the dev values; teardown.yml afterwards if a test has not done it."""
    project = random_project()
    env = {**aws_env, "DEVOPS_TEST_PROJECT": project, "DEVOPS_TEST_AMI_ID": moto_ami_id}
    stack = Stack(project, "dev", env, HERE / "inventory_dev")
    try:
        stack.runs["first"] = run_playbook("infra.yml", stack.inventory, env)
        _record_timing(request, "dev_first", stack.runs["first"])
        assert stack.runs["first"].returncode == 0, stack.runs["first"].output[-5000:]
        # -v on the second run: the full module results must still not show the secret.
        stack.runs["second"] = run_playbook("infra.yml", stack.inventory, env, "-v")
        _record_timing(request, "dev_second", stack.runs["second"])
        yield stack
    finally:
        if not stack.torn_down:
            stack.teardown()


@pytest.fixture(scope="module")
def prod_stack(request, aws_env, boto_session) -> Iterator[Stack]:
    """infra.yml once with the prod values and a certificate from moto's ACM."""
    project = random_project()
    acm = boto_session.client("acm")
    cert = acm.request_certificate(DomainName=f"{project}.example.com", ValidationMethod="DNS")[
        "CertificateArn"
    ]
    env = {**aws_env, "DEVOPS_TEST_PROJECT": project, "DEVOPS_TEST_CERTIFICATE_ARN": cert}
    stack = Stack(project, "prod", env, HERE / "inventory_prod")
    try:
        stack.runs["first"] = run_playbook("infra.yml", stack.inventory, env)
        _record_timing(request, "prod_first", stack.runs["first"])
        assert stack.runs["first"].returncode == 0, stack.runs["first"].output[-5000:]
        yield stack
    finally:
        if not stack.torn_down:
            stack.teardown("-e", f"teardown_confirm={project}-prod")
        acm.delete_certificate(CertificateArn=cert)
