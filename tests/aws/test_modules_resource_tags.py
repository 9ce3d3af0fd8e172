"""devops.django.resource_tags through ansible on moto: purge_tags, --check --diff, and the
collection's action group (module_defaults group/devops.django.aws reaches our module,
amazon.aws's and community.aws's). Tags are read back with boto3.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from .helpers import cpu_alarm, random_project, run_module, run_playbook

TAGS = {"Project": "p", "Environment": "dev", "ManagedBy": "devops.django"}
# AWS reserves aws: keys for itself (aws:cloudformation:stack-name ...); moto lets a test set one.
AWS_TAG = {"aws:cloudformation:stack-name": "someone-elses-stack"}


def _tags(cloudwatch, arn: str) -> dict[str, str]:
    return {
        t["Key"]: t["Value"] for t in cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"]
    }


@pytest.fixture
def alarm(boto_session):
    """(name, ARN) of a bare alarm tagged Owner=someone and one aws: tag."""
    cloudwatch = boto_session.client("cloudwatch")
    name = random_project()
    yield name, cpu_alarm(cloudwatch, name, {"Owner": "someone", **AWS_TAG})
    cloudwatch.delete_alarms(AlarmNames=[name])


def test_default_purges_other_tags_but_not_aws_ones(aws_env, boto_session, alarm):
    _, arn = alarm
    cloudwatch = boto_session.client("cloudwatch")
    done = run_module(aws_env, "devops.django.resource_tags", resource_arns=[arn], tags=TAGS)
    assert done["changed"] and not done["_failed"] and done["tagged"] == [arn]
    assert _tags(cloudwatch, arn) == {**TAGS, **AWS_TAG}, "Owner purged, the aws: tag kept"
    assert done["tags"] == {arn: {**TAGS, **AWS_TAG}}

    again = run_module(aws_env, "devops.django.resource_tags", resource_arns=[arn], tags=TAGS)
    assert not again["changed"] and again["tagged"] == []

    emptied = run_module(aws_env, "devops.django.resource_tags", resource_arns=[arn], tags={})
    assert emptied["changed"] and _tags(cloudwatch, arn) == AWS_TAG


def test_purge_false_adds_and_updates_only(aws_env, boto_session, alarm):
    _, arn = alarm
    cloudwatch = boto_session.client("cloudwatch")
    args = {"resource_arns": [arn], "purge_tags": False}
    done = run_module(aws_env, "devops.django.resource_tags", tags=TAGS, **args)
    assert done["changed"] and _tags(cloudwatch, arn) == {"Owner": "someone", **TAGS, **AWS_TAG}
    updated = run_module(aws_env, "devops.django.resource_tags", tags={"Owner": "me"}, **args)
    assert updated["changed"] and _tags(cloudwatch, arn)["Owner"] == "me"
    assert set(_tags(cloudwatch, arn)) == {"Owner", *TAGS, *AWS_TAG}


PLAY = """
- name: resource_tags under module_defaults
  hosts: localhost
  connection: local
  gather_facts: false
  {defaults}
  tasks:
    - name: Tag the alarm
      devops.django.resource_tags:
        resource_arns: ["{arn}"]
        tags: {tags}
      register: tagged
    - name: Read the alarm with an amazon.aws module, without region or endpoint either
      amazon.aws.cloudwatch_metric_alarm_info:
        alarm_names: ["{name}"]
      register: found
    - name: List target groups with a community.aws module, without region or endpoint
      community.aws.elb_target_group_info:
      register: listed
    - name: Write the results for the test
      ansible.builtin.copy:
        content: "{{{{ {{'tagged': tagged, 'found': found, 'listed': listed}} | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""

DEFAULTS = """module_defaults:
    group/devops.django.aws:
      region: "{{ region }}"
      endpoint_url: "{{ endpoint }}"
"""


def _play(tmp_path, aws_env, name, arn, defaults, *flags):
    """Run PLAY with region and endpoint only as extra vars (none in the environment)."""
    out = tmp_path / "result.json"
    play = tmp_path / "play.yml"
    play.write_text(
        PLAY.format(defaults=defaults, arn=arn, name=name, tags=json.dumps(TAGS), out=out)
    )
    inventory = tmp_path / "hosts"
    inventory.write_text("localhost ansible_python_interpreter={{ ansible_playbook_python }}\n")
    env = {k: v for k, v in aws_env.items() if k not in {"AWS_ENDPOINT_URL", "AWS_REGION"}}
    env.pop("AWS_DEFAULT_REGION", None)
    # No shared config either: region and endpoint can come from module_defaults only.
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    extra = json.dumps(
        {"region": aws_env["AWS_DEFAULT_REGION"], "endpoint": aws_env["AWS_ENDPOINT_URL"]}
    )
    run = run_playbook(play, inventory, env, "-e", extra, *flags)
    return run, (json.loads(out.read_text()) if out.exists() else None)


def test_module_defaults_group_reaches_resource_tags_and_amazon_aws(
    tmp_path, aws_env, boto_session, alarm
):
    name, arn = alarm
    cloudwatch = boto_session.client("cloudwatch")

    bare, _ = _play(tmp_path, aws_env, name, arn, "")
    assert bare.returncode != 0 and "region" in bare.output.lower(), "without the group: no region"
    assert _tags(cloudwatch, arn) == {"Owner": "someone", **AWS_TAG}

    run, result = _play(tmp_path, aws_env, name, arn, DEFAULTS)
    assert run.returncode == 0, run.output[-3000:]
    assert result["tagged"]["tagged"] == [arn]
    assert [a["alarm_arn"] for a in result["found"]["metric_alarms"]] == [arn]
    assert "target_groups" in result["listed"] and not result["listed"].get("failed")
    assert _tags(cloudwatch, arn) == {**TAGS, **AWS_TAG}


def test_check_diff_shows_tags_before_and_after_and_writes_nothing(
    tmp_path, aws_env, boto_session, alarm
):
    name, arn = alarm
    cloudwatch = boto_session.client("cloudwatch")
    run, _ = _play(tmp_path, aws_env, name, arn, DEFAULTS, "--check", "--diff")
    assert run.returncode == 0, run.output[-3000:]
    assert _tags(cloudwatch, arn) == {"Owner": "someone", **AWS_TAG}, "check mode wrote nothing"
    diff = run.output.split("TASK [Tag the alarm]", 1)[1].split("TASK [", 1)[0]
    # ansible.cfg prints diffs as YAML; JSON quotes would do too.
    assert re.search(r'^-\s+"?Owner"?: "?someone"?,?$', diff, re.M), diff
    assert re.search(r'^\+\s+"?Project"?: "?p"?,?$', diff, re.M), diff
    assert not re.search(r"^[-+]\s+\S*aws:cloudformation", diff, re.M), diff
    assert "changed: [localhost]" in diff, diff
