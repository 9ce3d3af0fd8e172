"""devops.django.resource_tags without AWS: what it writes, reports and diffs, per option."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.devops.django.plugins.modules import resource_tags

ALARM = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:notes-prod-cpu-high"
LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/lb/1/2"
WANTED = {"Project": "notes", "Environment": "prod"}


class FakeCloudWatch:
    def __init__(self, tags):
        self.tags = dict(tags)
        self.calls = []

    def list_tags_for_resource(self, ResourceARN, aws_retry):
        return {"Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()]}

    def tag_resource(self, ResourceARN, Tags, aws_retry):
        self.calls.append(("tag", {t["Key"]: t["Value"] for t in Tags}))
        self.tags.update({t["Key"]: t["Value"] for t in Tags})

    def untag_resource(self, ResourceARN, TagKeys, aws_retry):
        self.calls.append(("untag", TagKeys))
        for key in TagKeys:
            del self.tags[key]


class FakeElbV2:
    def __init__(self, tags):
        self.tags = dict(tags)
        self.calls = []

    def describe_tags(self, ResourceArns, aws_retry):
        pairs = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return {"TagDescriptions": [{"ResourceArn": ResourceArns[0], "Tags": pairs}]}

    def add_tags(self, ResourceArns, Tags, aws_retry):
        self.calls.append(("tag", {t["Key"]: t["Value"] for t in Tags}))
        self.tags.update({t["Key"]: t["Value"] for t in Tags})

    def remove_tags(self, ResourceArns, TagKeys, aws_retry):
        self.calls.append(("untag", TagKeys))
        for key in TagKeys:
            del self.tags[key]


def run(monkeypatch, capsys, clients, check=False, diff=False, **args):
    """main() with these module args and fake clients; its JSON result."""
    monkeypatch.setattr(AnsibleAWSModule, "client", lambda self, service, **kw: clients[service])
    args = {"region": "eu-west-1", "_ansible_check_mode": check, "_ansible_diff": diff, **args}
    with patch_module_args(args), pytest.raises(SystemExit):
        resource_tags.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("arn", "service"),
    [
        (ALARM, "cloudwatch"),
        (LISTENER, "elbv2"),
        ("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/1", "elbv2"),
        ("arn:aws:cloudwatch:eu-west-1:123456789012:dashboard/main", None),
        ("arn:aws:s3:::bucket", None),
        ("not-an-arn", None),
    ],
)
def test_service_of(arn, service):
    assert resource_tags.service_of(arn) == service


def test_plan_purges_what_tags_does_not_name_except_aws_tags():
    current = {"Project": "old", "Owner": "someone", "aws:cloudformation:stack-name": "s"}
    to_set, to_remove, after = resource_tags.plan(current, WANTED, purge_tags=True)
    assert to_set == {"Project": "notes", "Environment": "prod"}
    assert to_remove == {"Owner"}
    assert after == {**WANTED, "aws:cloudformation:stack-name": "s"}


def test_plan_without_purge_only_adds_and_updates():
    current = {"Project": "old", "Owner": "someone"}
    to_set, to_remove, after = resource_tags.plan(current, WANTED, purge_tags=False)
    assert to_set == {"Project": "notes", "Environment": "prod"}
    assert to_remove == set()
    assert after == {**WANTED, "Owner": "someone"}


def test_plan_of_tags_already_there_is_empty():
    assert resource_tags.plan(dict(WANTED), WANTED, purge_tags=True) == ({}, set(), WANTED)


def test_default_purges_and_reports(monkeypatch, capsys):
    cloudwatch = FakeCloudWatch({"Owner": "someone", "aws:created-by": "x", "Project": "old"})
    result = run(
        monkeypatch, capsys, {"cloudwatch": cloudwatch}, resource_arns=[ALARM], tags=WANTED
    )
    assert result["changed"] and result["tagged"] == [ALARM]
    assert cloudwatch.calls == [("tag", WANTED), ("untag", ["Owner"])]
    assert cloudwatch.tags == {**WANTED, "aws:created-by": "x"}
    assert result["tags"] == {ALARM: cloudwatch.tags}
    assert "diff" not in result, "no diff unless --diff"


def test_purge_false_keeps_other_tags(monkeypatch, capsys):
    elbv2 = FakeElbV2({"Owner": "someone"})
    result = run(
        monkeypatch,
        capsys,
        {"elbv2": elbv2},
        resource_arns=[LISTENER],
        tags=WANTED,
        purge_tags=False,
    )
    assert result["changed"] and elbv2.calls == [("tag", WANTED)]
    assert elbv2.tags == {**WANTED, "Owner": "someone"}


def test_check_mode_writes_nothing_and_diffs(monkeypatch, capsys):
    cloudwatch, elbv2 = FakeCloudWatch({"Owner": "someone"}), FakeElbV2(WANTED)
    result = run(
        monkeypatch,
        capsys,
        {"cloudwatch": cloudwatch, "elbv2": elbv2},
        check=True,
        diff=True,
        resource_arns=[ALARM, LISTENER],
        tags=WANTED,
    )
    assert result["changed"] and result["tagged"] == [ALARM]
    assert cloudwatch.calls == [] and cloudwatch.tags == {"Owner": "someone"}
    assert result["diff"] == {
        "before": {"tags": {ALARM: {"Owner": "someone"}, LISTENER: WANTED}},
        "after": {"tags": {ALARM: WANTED, LISTENER: WANTED}},
    }
    assert result["tags"] == {ALARM: WANTED, LISTENER: WANTED}


def test_values_are_compared_as_strings(monkeypatch, capsys):
    cloudwatch = FakeCloudWatch({"Port": "80"})
    result = run(
        monkeypatch, capsys, {"cloudwatch": cloudwatch}, resource_arns=[ALARM], tags={"Port": 80}
    )
    assert not result["changed"] and result["tagged"] == [] and cloudwatch.calls == []


def test_empty_tags_with_purge_removes_all_but_aws_tags(monkeypatch, capsys):
    cloudwatch = FakeCloudWatch({"Owner": "someone", "aws:created-by": "x"})
    result = run(monkeypatch, capsys, {"cloudwatch": cloudwatch}, resource_arns=[ALARM], tags={})
    assert result["changed"] and cloudwatch.calls == [("untag", ["Owner"])]
    assert cloudwatch.tags == {"aws:created-by": "x"}


def test_unsupported_arn_fails_before_any_call(monkeypatch, capsys):
    bucket = "arn:aws:s3:::bucket"
    cloudwatch = FakeCloudWatch({})
    result = run(
        monkeypatch, capsys, {"cloudwatch": cloudwatch}, resource_arns=[ALARM, bucket], tags=WANTED
    )
    assert result["failed"] and bucket in result["msg"] and "resource_arns" in result["msg"]
    assert cloudwatch.calls == []
