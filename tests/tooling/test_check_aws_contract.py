"""scripts/check_aws_contract.py: the rule that no task passes region, endpoint or credentials to
an AWS module by hand (module_defaults group/devops.django.aws gives them)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "check_aws_contract", REPO / "scripts/check_aws_contract.py"
)
assert _spec and _spec.loader
contract = importlib.util.module_from_spec(_spec)
sys.modules["check_aws_contract"] = contract
_spec.loader.exec_module(contract)

TASKS = """
- name: Fine, module_defaults give the connection
  amazon.aws.ec2_vpc_net_info: {}
- name: A block
  block:
    - name: Region by hand, nested in a block
      community.aws.elb_target_group_info:
        names: [x]
        region: eu-west-1
  rescue:
    - name: Endpoint by hand in a rescue
      devops.django.resource_tags:
        resource_arns: []
        endpoint_url: http://127.0.0.1:5000
- name: Not an AWS module
  ansible.builtin.uri:
    url: http://127.0.0.1/
    region: whatever
- name: aws_common itself is a role, not a module
  ansible.builtin.include_role:
    name: devops.django.aws_common
"""


def test_tasks_passing_connection_args_by_hand_are_named(tmp_path):
    path = tmp_path / "tasks.yml"
    path.write_text(TASKS)
    problems = contract.check_connection_args([path])
    assert len(problems) == 2, problems
    assert "'Region by hand, nested in a block' passes region to community.aws" in problems[0]
    assert "passes endpoint_url to devops.django.resource_tags" in problems[1]


def test_the_repository_passes_none_by_hand():
    assert contract.check_connection_args() == []
