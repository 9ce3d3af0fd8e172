"""The internal aws_common role: names and tags, its guard, the S3 bucket name."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import HERE, random_project, run_playbook

PLAY = """
- name: Use aws_common as the AWS roles do
  hosts: aws_controller
  connection: local
  gather_facts: false
  tasks:
    - name: Name the bucket
      ansible.builtin.include_role:
        name: devops.django.aws_common
        tasks_from: s3_bucket_name
      vars:
        _aws_common_bucket_purpose: "{{ purpose }}"

    - name: Create it with the standard tags
      amazon.aws.s3_bucket:
        name: "{{ _aws_common_bucket_name }}"
        tags: "{{ _aws_common_tags }}"
        state: present
      module_defaults:
        group/amazon.aws.aws: "{{ _aws_common_module_defaults }}"

    - name: Write the facts for the test
      ansible.builtin.copy:
        dest: "{{ out }}"
        mode: "0600"
        content: >-
          {{ {'bucket': _aws_common_bucket_name, 'app': _aws_common_app_name,
              'path': _aws_common_path_prefix, 'tags': _aws_common_tags,
              'defaults': _aws_common_module_defaults} | to_json }}
"""

DIRECT = """
- name: Apply aws_common directly
  hosts: aws_controller
  connection: local
  gather_facts: false
  roles:
    - role: devops.django.aws_common
"""


def test_bucket_name_holds_the_account_id(aws_env, boto_session, tmp_path: Path):
    project = random_project()
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    env = {**aws_env, "DEVOPS_TEST_PROJECT": project}
    out = tmp_path / "facts.json"
    run = run_playbook(play, HERE / "inventory_dev", env, "-e", f"purpose=releases out={out}")
    assert run.returncode == 0, run.output[-3000:]
    account = boto_session.client("sts").get_caller_identity()["Account"]
    facts = json.loads(out.read_text())
    assert facts["bucket"] == f"{project}-dev-releases-{account}"
    assert len(facts["bucket"]) <= 63
    assert facts["app"] == f"{project}-dev-app"
    assert facts["path"] == f"{project}/dev"
    assert facts["tags"]["Project"] == project
    assert facts["tags"]["Environment"] == "dev"
    assert facts["tags"]["ManagedBy"] == "devops.django"
    assert facts["defaults"]["endpoint_url"] == aws_env["AWS_ENDPOINT_URL"]
    assert facts["defaults"]["aws_config"]["retries"]["mode"] == "standard"
    s3 = boto_session.client("s3")
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=facts["bucket"])["TagSet"]}
    assert tags["Project"] == project
    assert tags["ManagedBy"] == "devops.django"
    s3.delete_bucket(Bucket=facts["bucket"])


def test_bad_bucket_purpose_is_refused(aws_env, tmp_path: Path):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    env = {**aws_env, "DEVOPS_TEST_PROJECT": random_project()}
    run = run_playbook(
        play, HERE / "inventory_dev", env, "-e", f"purpose=Releases_2026 out={tmp_path}/x"
    )
    assert run.returncode != 0
    assert "_aws_common_bucket_purpose" in run.output
    assert "Find the account id" not in run.output


def test_direct_use_is_refused(aws_env, tmp_path: Path):
    play = tmp_path / "play.yml"
    play.write_text(DIRECT)
    env = {**aws_env, "DEVOPS_TEST_PROJECT": random_project()}
    run = run_playbook(play, HERE / "inventory_dev", env)
    assert run.returncode != 0
    assert "devops.django.aws_common is internal" in run.output
