#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: asg_processes
short_description: Suspend or resume scaling processes of an existing EC2 Auto Scaling group
description:
  - Suspends or resumes the named scaling processes of an existing Auto Scaling group, and
    changes nothing else about the group.
  - M(amazon.aws.autoscaling_group) does not fit here, because its C(suspend_processes) sets the
    exact list (resuming any other suspended process) and it applies its defaults, such as
    C(health_check_type=EC2), to the rest of an existing group.
  - Only the processes that are not suspended yet are suspended, and only suspended ones are
    resumed, so the module reports a change only when it really calls the API.
  - With O(marker_tag), the processes this module suspended are recorded in a tag on the group,
    and O(state=resumed) resumes only those; a process suspended beforehand by someone else
    stays suspended. An interrupted run can be finished by a later run with the same tag.
  - See U(https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-suspend-resume-processes.html).
version_added: 0.1.0
author:
  - devops.django maintainers (@devops-django)
options:
  name:
    description: The name of the Auto Scaling group.
    type: str
    required: true
  state:
    description:
      - V(suspended) suspends O(processes) that are not suspended yet.
      - V(resumed) resumes O(processes) that are suspended; with O(marker_tag), only those the
        tag records, and the tag is removed once none of them is left.
    type: str
    choices: [suspended, resumed]
    default: suspended
  processes:
    description:
      - The scaling processes to suspend or resume.
      - Required with O(state=suspended). With O(state=resumed) and O(marker_tag) it defaults to
        every process the tag records.
    type: list
    elements: str
    choices:
      - Launch
      - Terminate
      - AddToLoadBalancer
      - AlarmNotification
      - AZRebalance
      - HealthCheck
      - InstanceRefresh
      - ReplaceUnhealthy
      - ScheduledActions
  marker_tag:
    description:
      - Key of a group tag (not propagated to instances) that holds the comma separated list of
        processes this module suspended and has not resumed yet.
      - Leave unset to suspend and resume O(processes) without any record.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Keep the ASG from replacing a host drained for a release
  devops.django.asg_processes:
    name: notes-prod-app
    processes: [HealthCheck, ReplaceUnhealthy, AZRebalance, Terminate]
    marker_tag: devops.django:deploy-suspended
    state: suspended

- name: Resume what the release suspended, and nothing else
  devops.django.asg_processes:
    name: notes-prod-app
    marker_tag: devops.django:deploy-suspended
    state: resumed
"""

RETURN = r"""
suspended_before:
  description: The processes suspended before the module ran, sorted.
  returned: always
  type: list
  elements: str
  sample: [ScheduledActions]
suspended_after:
  description: The processes suspended after the run (in check mode, as they would be), sorted.
  returned: always
  type: list
  elements: str
  sample: [AZRebalance, HealthCheck, ReplaceUnhealthy, ScheduledActions, Terminate]
suspended:
  description: The processes this run suspended.
  returned: always
  type: list
  elements: str
  sample: [AZRebalance, HealthCheck, ReplaceUnhealthy, Terminate]
resumed:
  description: The processes this run resumed.
  returned: always
  type: list
  elements: str
  sample: []
marked:
  description: The processes O(marker_tag) records after the run; empty without O(marker_tag).
  returned: always
  type: list
  elements: str
  sample: [AZRebalance, HealthCheck, ReplaceUnhealthy, Terminate]
"""

# Ansible wants DOCUMENTATION, EXAMPLES and RETURN before the imports.
import contextlib  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports the missing dependency
    import botocore

PROCESSES = [
    "Launch",
    "Terminate",
    "AddToLoadBalancer",
    "AlarmNotification",
    "AZRebalance",
    "HealthCheck",
    "InstanceRefresh",
    "ReplaceUnhealthy",
    "ScheduledActions",
]


def _group(client, module, name):
    try:
        groups = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name], aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to describe Auto Scaling group {name}")
    found = groups["AutoScalingGroups"]
    if not found:
        module.fail_json(msg=f"No Auto Scaling group {name}")
    return found[0]


def _marked(group, key):
    if not key:
        return set()
    value = next((t["Value"] for t in group.get("Tags", []) if t["Key"] == key), "")
    return {p for p in value.split(",") if p}


def _set_marker(client, name, key, marked):
    tag = {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": key}
    if marked:
        tag.update(Value=",".join(sorted(marked)), PropagateAtLaunch=False)
        client.create_or_update_tags(Tags=[tag], aws_retry=True)
    else:
        client.delete_tags(Tags=[tag], aws_retry=True)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["suspended", "resumed"], default="suspended"),
            processes=dict(type="list", elements="str", choices=PROCESSES),
            marker_tag=dict(type="str", no_log=False),
        ),
        required_if=[("state", "suspended", ["processes"])],
        supports_check_mode=True,
    )
    name = module.params["name"]
    key = module.params["marker_tag"]
    wanted = set(module.params["processes"] or [])
    client = module.client("autoscaling", retry_decorator=AWSRetry.jittered_backoff())

    group = _group(client, module, name)
    before = {p["ProcessName"] for p in group.get("SuspendedProcesses", [])}
    marked_before = _marked(group, key)

    if module.params["state"] == "suspended":
        to_suspend, to_resume = wanted - before, set()
        # A process still recorded but no longer suspended (someone resumed it) drops out.
        marked_after = (marked_before & before) | to_suspend if key else set()
    else:
        if not wanted and not key:
            module.fail_json(msg="state=resumed needs processes, marker_tag or both")
        candidates = (marked_before & wanted if wanted else marked_before) if key else wanted
        to_suspend, to_resume = set(), candidates & before
        marked_after = marked_before - candidates if key else set()
    after = (before | to_suspend) - to_resume

    marker_changed = bool(key) and marked_after != marked_before
    changed = bool(to_suspend or to_resume or marker_changed)
    if changed and not module.check_mode:
        try:
            # Record first: a run killed between the two calls leaves a marker a later run resumes.
            if marker_changed and marked_after:
                _set_marker(client, name, key, marked_after)
            if to_suspend:
                client.suspend_processes(
                    AutoScalingGroupName=name, ScalingProcesses=sorted(to_suspend), aws_retry=True
                )
            if to_resume:
                client.resume_processes(
                    AutoScalingGroupName=name, ScalingProcesses=sorted(to_resume), aws_retry=True
                )
            if marker_changed and not marked_after:
                _set_marker(client, name, key, marked_after)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Failed to change the suspended processes of {name}")

    module.exit_json(
        changed=changed,
        suspended_before=sorted(before),
        suspended_after=sorted(after),
        suspended=sorted(to_suspend),
        resumed=sorted(to_resume),
        marked=sorted(marked_after),
        diff={
            "before": {"suspended_processes": sorted(before), "marked": sorted(marked_before)},
            "after": {"suspended_processes": sorted(after), "marked": sorted(marked_after)},
        },
    )


if __name__ == "__main__":
    main()
