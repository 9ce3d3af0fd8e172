#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: resource_tags
short_description: Tag CloudWatch alarms and load balancer listeners by ARN
version_added: 0.1.0
description:
  - Sets the tags of resources whose own modules cannot tag them, found by ARN.
  - M(amazon.aws.cloudwatch_metric_alarm) has no C(tags) option, and
    M(amazon.aws.elb_application_lb) tags the load balancer but not its listeners.
  - The service is taken from each ARN; CloudWatch alarms (C(arn:...:cloudwatch:...:alarm:...))
    and Elastic Load Balancing v2 resources (C(arn:...:elasticloadbalancing:...)) are supported.
  - Only tags that differ are written, so the module reports a change only when it calls the API.
  - Like the amazon.aws modules, O(purge_tags=true) (the default) removes the tags that
    O(tags) does not name, except those starting with C(aws:).
author:
  - devops.django maintainers (@devops-django)
options:
  resource_arns:
    description: The ARNs of the resources to tag.
    type: list
    elements: str
    required: true
  tags:
    description:
      - The tags each resource must carry, as a dictionary of key and value.
      - With O(purge_tags=true), an empty dictionary removes every tag not starting with C(aws:).
    type: dict
    required: true
    aliases: [resource_tags]
  purge_tags:
    description:
      - V(true) removes the tags of each resource that O(tags) does not name; tags starting
        with C(aws:) are never removed.
      - V(false) only adds tags and updates their values.
    type: bool
    default: true
notes:
  - Supports check mode (nothing is written, RV(tagged) and the diff say what would change)
    and C(--diff) (the tags of each resource before and after).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Tag the alarms (and remove any other tag)
  devops.django.resource_tags:
    resource_arns: "{{ alarms.results | map(attribute='alarm_arn') }}"
    tags:
      Project: notes
      Environment: prod
      ManagedBy: devops.django

- name: Add one tag to a listener and keep the others
  devops.django.resource_tags:
    resource_arns: "{{ alb.listeners | map(attribute='listener_arn') }}"
    tags:
      CostCenter: web
    purge_tags: false
"""

RETURN = r"""
tagged:
  description: The ARNs whose tags this run changed (in check mode, would change), in input order.
  returned: always
  type: list
  elements: str
  sample: [arn:aws:cloudwatch:eu-west-1:123456789012:alarm:notes-prod-cpu-high]
tags:
  description: The tags of each resource after the run (in check mode, as they would be), by ARN.
  returned: always
  type: dict
  sample:
    arn:aws:cloudwatch:eu-west-1:123456789012:alarm:notes-prod-cpu-high:
      Project: notes
      Environment: prod
"""

# Ansible wants DOCUMENTATION, EXAMPLES and RETURN before the imports.
import contextlib  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: E402
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports the missing dependency
    import botocore


ARN_FIELDS = 6  # arn:partition:service:region:account:resource


def service_of(arn):
    """The client name for an ARN this module can tag, else None."""
    parts = arn.split(":", ARN_FIELDS - 1)
    if len(parts) < ARN_FIELDS or parts[0] != "arn":
        return None
    if parts[2] == "cloudwatch" and parts[5].startswith("alarm:"):
        return "cloudwatch"
    if parts[2] == "elasticloadbalancing":
        return "elbv2"
    return None


class CloudWatch:
    def __init__(self, client):
        self.client = client

    def get(self, arn):
        tags = self.client.list_tags_for_resource(ResourceARN=arn, aws_retry=True)["Tags"]
        return boto3_tag_list_to_ansible_dict(tags)

    def set(self, arn, tags):
        pairs = ansible_dict_to_boto3_tag_list(dict(sorted(tags.items())))
        self.client.tag_resource(ResourceARN=arn, Tags=pairs, aws_retry=True)

    def remove(self, arn, keys):
        self.client.untag_resource(ResourceARN=arn, TagKeys=sorted(keys), aws_retry=True)


class ElbV2:
    def __init__(self, client):
        self.client = client

    def get(self, arn):
        found = self.client.describe_tags(ResourceArns=[arn], aws_retry=True)["TagDescriptions"]
        return {
            k: v
            for d in found
            for k, v in boto3_tag_list_to_ansible_dict(d.get("Tags", [])).items()
        }

    def set(self, arn, tags):
        pairs = ansible_dict_to_boto3_tag_list(dict(sorted(tags.items())))
        self.client.add_tags(ResourceArns=[arn], Tags=pairs, aws_retry=True)

    def remove(self, arn, keys):
        self.client.remove_tags(ResourceArns=[arn], TagKeys=sorted(keys), aws_retry=True)


APIS = {"cloudwatch": CloudWatch, "elbv2": ElbV2}


def plan(current, wanted, purge_tags):
    """(tags to set, keys to remove, tags after) for one resource, as amazon.aws modules do."""
    to_set, to_remove = compare_aws_tags(current, wanted, purge_tags=purge_tags)
    after = {k: v for k, v in current.items() if k not in to_remove}
    after.update(to_set)
    return to_set, set(to_remove), after


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            resource_arns=dict(type="list", elements="str", required=True),
            tags=dict(type="dict", required=True, aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    wanted = {str(k): str(v) for k, v in module.params["tags"].items()}
    unknown = [a for a in module.params["resource_arns"] if service_of(a) is None]
    if unknown:
        module.fail_json(
            msg="resource_arns: only CloudWatch alarm and elasticloadbalancing ARNs are supported, "
            f"not {', '.join(unknown)}"
        )
    retry = AWSRetry.jittered_backoff()
    apis = {}
    tagged, before_all, after_all = [], {}, {}
    for arn in module.params["resource_arns"]:
        service = service_of(arn)
        if service not in apis:
            apis[service] = APIS[service](module.client(service, retry_decorator=retry))
        api = apis[service]
        try:
            current = api.get(arn)
            to_set, to_remove, after = plan(current, wanted, module.params["purge_tags"])
            before_all[arn], after_all[arn] = current, after
            if not (to_set or to_remove):
                continue
            tagged.append(arn)
            if module.check_mode:
                continue
            if to_set:
                api.set(arn, to_set)
            if to_remove:
                api.remove(arn, to_remove)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Failed to tag {arn}")
    result = dict(changed=bool(tagged), tagged=tagged, tags=after_all)
    if module._diff:
        result["diff"] = {"before": {"tags": before_all}, "after": {"tags": after_all}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
