#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: resource_tags
short_description: Tag CloudWatch alarms and load balancer listeners by ARN
description:
  - Sets tags on resources whose own modules cannot tag them, found by ARN.
  - M(amazon.aws.cloudwatch_metric_alarm) has no C(tags) option, and
    M(amazon.aws.elb_application_lb) tags the load balancer but not its listeners.
  - The service is taken from each ARN; CloudWatch alarms (C(arn:...:cloudwatch:...:alarm:...))
    and Elastic Load Balancing v2 resources (C(arn:...:elasticloadbalancing:...)) are supported.
  - Only tags that differ are written, so the module reports a change only when it calls the API.
author:
  - devops.django maintainers
options:
  resource_arns:
    description: The ARNs of the resources to tag.
    type: list
    elements: str
    required: true
  tags:
    description: The tags each resource must carry.
    type: dict
    required: true
  purge_tags:
    description: Remove tags not in O(tags) (tags starting with C(aws:) are never touched).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Tag the alarms
  devops.django.resource_tags:
    resource_arns: "{{ alarms.results | map(attribute='alarm_arn') }}"
    tags:
      Project: notes
      Environment: prod
      ManagedBy: devops.django
"""

RETURN = r"""
tagged:
  description: The ARNs whose tags this run changed (in check mode, would change).
  returned: always
  type: list
  elements: str
"""

# Ansible wants DOCUMENTATION, EXAMPLES and RETURN before the imports.
import contextlib  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports the missing dependency
    import botocore


ARN_FIELDS = 6  # arn:partition:service:region:account:resource


def _service(arn):
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
        return {t["Key"]: t["Value"] for t in tags}

    def set(self, arn, tags):
        pairs = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        self.client.tag_resource(ResourceARN=arn, Tags=pairs, aws_retry=True)

    def remove(self, arn, keys):
        self.client.untag_resource(ResourceARN=arn, TagKeys=sorted(keys), aws_retry=True)


class ElbV2:
    def __init__(self, client):
        self.client = client

    def get(self, arn):
        found = self.client.describe_tags(ResourceArns=[arn], aws_retry=True)["TagDescriptions"]
        return {t["Key"]: t["Value"] for d in found for t in d.get("Tags", [])}

    def set(self, arn, tags):
        pairs = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        self.client.add_tags(ResourceArns=[arn], Tags=pairs, aws_retry=True)

    def remove(self, arn, keys):
        self.client.remove_tags(ResourceArns=[arn], TagKeys=sorted(keys), aws_retry=True)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            resource_arns=dict(type="list", elements="str", required=True),
            tags=dict(type="dict", required=True),
            purge_tags=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    wanted = {str(k): str(v) for k, v in module.params["tags"].items()}
    unknown = [a for a in module.params["resource_arns"] if _service(a) is None]
    if unknown:
        module.fail_json(
            msg="resource_arns: only CloudWatch alarm and elasticloadbalancing ARNs are supported, "
            f"not {', '.join(unknown)}"
        )
    retry = AWSRetry.jittered_backoff()
    clients = {}
    tagged = []
    for arn in module.params["resource_arns"]:
        service = _service(arn)
        if service not in clients:
            client = module.client(service, retry_decorator=retry)
            clients[service] = CloudWatch(client) if service == "cloudwatch" else ElbV2(client)
        api = clients[service]
        try:
            current = api.get(arn)
            to_set = {k: v for k, v in wanted.items() if current.get(k) != v}
            to_remove = set()
            if module.params["purge_tags"]:
                to_remove = {k for k in current if k not in wanted and not k.startswith("aws:")}
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
    module.exit_json(changed=bool(tagged), tagged=tagged)


if __name__ == "__main__":
    main()
