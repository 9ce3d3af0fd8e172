"""EC2 discovery end to end, on moto: inventory -> role template -> a real Prometheus.

For the dev and prod AWS inventories: the aws_ec2 inventory (against moto) finds the
monitoring instance (group role_monitoring), its group_vars select EC2 discovery with the
inventory's project, environment, region and Auto Scaling group; the role's preflight and
template render prometheus.yml with the EC2 endpoint pointed at moto; the controller's
Prometheus runs it on 127.0.0.1, and /api/v1/targets must list exactly the instance of
that environment's app ASG, scraped at its private IP, labelled with its instance id.

Every instance lives in a 127.x VPC subnet, so whatever Prometheus scrapes stays on the
loopback (nothing listens there; the targets are down, discovery is what is tested).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import prometheus_server
import pytest
import yaml
from promql import PROMETHEUS_ROLE, REPO

PLAYBOOK = Path(__file__).resolve().parent / "playbooks/render_prometheus_config.yml"
PROJECT = "notes"  # devops_project of inventories/dev and prod
BASE_TAGS = {"Project": PROJECT, "ManagedBy": "devops.django"}


def tags(**kv: str) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in kv.items()]


@pytest.fixture(scope="module")
def fleet(boto_session):
    """Per environment: the app ASG <project>-<env>-app (as the asg role names and tags it),
    a stray app instance outside it, and a monitoring instance; a dev ASG of another project."""
    ec2 = boto_session.client("ec2")
    asg = boto_session.client("autoscaling")
    octet = random.randint(20, 250)  # noqa: S311 - a test network, not a secret
    vpc = ec2.create_vpc(CidrBlock=f"127.{octet}.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc, CidrBlock=f"127.{octet}.1.0/24", AvailabilityZone="eu-west-1a"
    )["Subnet"]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    template = f"monitoring-test-{uuid.uuid4().hex[:8]}"
    ec2.create_launch_template(
        LaunchTemplateName=template,
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"},
    )
    groups, loose = [], []
    result: dict[str, dict[str, str]] = {}

    def run_one(**kv: str) -> str:
        reservation = ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, InstanceType="t3.micro",
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags(**kv)}],
        )  # fmt: skip
        instance_id = reservation["Instances"][0]["InstanceId"]
        loose.append(instance_id)
        return instance_id

    def make_asg(name: str, project: str, env: str) -> None:
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": template},
            MinSize=1,
            MaxSize=1,
            DesiredCapacity=1,
            VPCZoneIdentifier=subnet,
            Tags=[
                {"Key": k, "Value": v, "PropagateAtLaunch": True}
                for k, v in {
                    **BASE_TAGS,
                    "Project": project,
                    "Environment": env,
                    "Role": "app",
                }.items()
            ],
        )
        groups.append(name)

    try:
        for env in ("dev", "prod"):
            make_asg(f"{PROJECT}-{env}-app", PROJECT, env)
            result[env] = {
                "stray": run_one(**BASE_TAGS, Environment=env, Role="app"),
                "monitoring": run_one(**BASE_TAGS, Environment=env, Role="monitoring"),
            }
        make_asg("other-dev-app", "other", "dev")
        for reservation in ec2.describe_instances()["Reservations"]:
            for inst in reservation["Instances"]:
                names = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
                group = names.get("aws:autoscaling:groupName", "")
                env = names.get("Environment")
                if group == f"{PROJECT}-{env}-app":
                    result[env]["app"] = inst["InstanceId"]
                    result[env]["app_ip"] = inst["PrivateIpAddress"]
        yield {**result, "ec2": ec2}
    finally:
        for name in groups:
            asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        if loose:
            ec2.terminate_instances(InstanceIds=loose)


def render(env: str, aws_env: dict, moto: str, dest: Path, listen: str) -> tuple[Path, list[str]]:
    extra = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        # The inventory's endpoint variable (empty for AWS), here moto: its group_vars
        # pass it on as prometheus_ec2_endpoint.
        "devops_aws_endpoint_url": moto,
        "prometheus_config_dir": str(dest),
        "prometheus_web_listen_address": listen,
        "render_role_dir": str(PROMETHEUS_ROLE),
        "render_dest": str(dest / "prometheus.yml"),
    }
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", str(REPO / "inventories" / env),
            str(PLAYBOOK), "-e", json.dumps(extra),
        ],
        capture_output=True, text=True, timeout=300, check=False,
        env={**aws_env, "AWS_URL": moto, "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections")},
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    recap = [line.split()[0] for line in out.split("PLAY RECAP")[-1].splitlines() if "ok=" in line]
    return dest / "prometheus.yml", recap


def targets(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/v1/targets?state=active", timeout=5) as resp:  # noqa: S310
        return json.load(resp)["data"]["activeTargets"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_inventory_ec2_discovery_finds_only_its_asg(env, fleet, aws_env, moto_endpoint, tmp_path):
    # Guard: nothing but this test's loopback instances may match (the moto server is
    # shared by the session), or Prometheus would try to scrape real addresses.
    ec2 = fleet["ec2"]
    matching = [
        inst
        for r in ec2.describe_instances(
            Filters=[
                {"Name": "tag:Project", "Values": [PROJECT]},
                {"Name": "tag:Environment", "Values": [env]},
            ]
        )["Reservations"]
        for inst in r["Instances"]
    ]
    assert all(i["PrivateIpAddress"].startswith("127.") for i in matching), matching

    port = prometheus_server.free_port()
    config, recap = render(env, aws_env, moto_endpoint, tmp_path, f"127.0.0.1:{port}")
    # The play ran for this environment's monitoring instance only (group role_monitoring).
    assert recap == [fleet[env]["monitoring"]]
    doc = yaml.safe_load(config.read_text())
    (node,) = [j for j in doc["scrape_configs"] if j["job_name"] == "node"]
    (sd,) = node["ec2_sd_configs"]
    assert sd["endpoint"] == moto_endpoint
    assert {f["name"]: f["values"] for f in sd["filters"]} == {
        "tag:Project": [PROJECT],
        "tag:Environment": [env],
        "instance-state-name": ["running"],
        "tag:aws:autoscaling:groupName": [f"{PROJECT}-{env}-app"],
    }

    log = tmp_path / "prometheus.log"
    url = f"http://127.0.0.1:{port}"
    env_vars = {k: v for k, v in aws_env.items() if not k.startswith("AWS_ENDPOINT")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(prometheus_server.binary()),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out, stderr=subprocess.STDOUT, env=env_vars,
        )  # fmt: skip
    try:
        prometheus_server.wait_ready(url, proc, log)
        started = time.monotonic()
        deadline = time.monotonic() + 60
        while True:
            found = {
                (t["labels"]["job"], t["labels"]["instance"], t["scrapeUrl"]) for t in targets(url)
            }
            if {job for job, _, _ in found} >= {"prometheus", "node", "django"}:
                break
            assert time.monotonic() < deadline, (
                f"no targets in 60s: {found}\n{log.read_text()[-3000:]}"
            )
            time.sleep(1)
        print(f"EC2 targets discovered {time.monotonic() - started:.1f}s after start")
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    ours = fleet[env]
    assert found == {
        ("prometheus", ours["monitoring"], f"{url}/metrics"),
        ("node", ours["app"], f"http://{ours['app_ip']}:9100/metrics"),
        ("django", ours["app"], f"http://{ours['app_ip']}:80/metrics"),
    }
