"""prometheus.yml as the role renders it for EC2 discovery, checked by promtool.

The monitoring Molecule scenario exercises file discovery on live containers; this
renders the same template with `prometheus_discovery: ec2` (what the AWS inventories
use) on the controller and lets promtool judge it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import promql
import pytest
import yaml

ROLE = promql.PROMETHEUS_ROLE
PROMTOOL = promql.REPO / "scripts/promtool.sh"

PLAYBOOK = """
- name: Render the prometheus role's config template
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - {role}/defaults/main.yml
    - {role}/vars/main.yml
  tasks:
    - name: Render prometheus.yml
      ansible.builtin.template:
        src: {role}/templates/prometheus.yml.j2
        dest: {dest}
        mode: "0644"
"""


def render(tmp_path: Path, overrides: dict) -> Path:
    dest = tmp_path / "prometheus.yml"
    playbook = tmp_path / "render.yml"
    playbook.write_text(PLAYBOOK.format(role=ROLE, dest=dest))
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            str(playbook),
            "-e",
            json.dumps({"ansible_python_interpreter": sys.executable, **overrides}),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest


@pytest.fixture(scope="module")
def ec2_config(tmp_path_factory) -> Path:
    return render(
        tmp_path_factory.mktemp("ec2"),
        {
            "prometheus_discovery": "ec2",
            "prometheus_ec2_region": "eu-west-1",
            "prometheus_ec2_endpoint": "http://127.0.0.1:5000",
            "prometheus_ec2_project": "shop",
            "prometheus_ec2_environment": "dev",
            "prometheus_ec2_asg_name": "shop-dev-web",
            "prometheus_extra_scrape_configs": [
                {"job_name": "postgres", "static_configs": [{"targets": ["10.0.3.10:9187"]}]}
            ],
        },
    )


def test_promtool_accepts_the_ec2_config(ec2_config):
    proc = subprocess.run(
        [str(PROMTOOL), "check", "config", "--syntax-only", str(ec2_config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ec2_jobs_filter_by_tags_and_scrape_private_ips(ec2_config):
    config = yaml.safe_load(ec2_config.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert list(jobs) == ["prometheus", "node", "django", "postgres"]
    for name, port in (("node", 9100), ("django", 80)):
        (sd,) = jobs[name]["ec2_sd_configs"]
        assert sd["endpoint"] == "http://127.0.0.1:5000"
        assert sd["port"] == port
        filters = {f["name"]: f["values"] for f in sd["filters"]}
        assert filters == {
            "tag:Project": ["shop"],
            "tag:Environment": ["dev"],
            "instance-state-name": ["running"],
            "tag:aws:autoscaling:groupName": ["shop-dev-web"],
        }
        relabel = {r["target_label"]: r for r in jobs[name]["relabel_configs"]}
        assert relabel["__address__"]["source_labels"] == ["__meta_ec2_private_ip"]
        assert relabel["__address__"]["replacement"] == f"${{1}}:{port}"
        assert relabel["instance"]["source_labels"] == ["__meta_ec2_instance_id"]
        assert "file_sd_configs" not in jobs[name]
    assert jobs["django"]["metrics_path"] == "/metrics"
