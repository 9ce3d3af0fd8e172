"""Helpers shared by the CloudFormation tests: template loading and playbook runs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CFN_DIR = REPO / "cloudformation"
LAYERS = ["network", "security", "database", "loadbalancer", "compute", "alarms"]
SIGNAL_SCRIPT = CFN_DIR / "scripts" / "signal-ready.sh"
SIGNAL_MARKER = "SIGNAL_READY_EOF"
REQUIRED_TAGS = {"Project", "Environment", "ManagedBy"}


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns short-form intrinsics (!Ref x) into their long form."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def parse_template(text: str) -> dict:
    """A template body (YAML with short-form intrinsics, or JSON) as a dict."""
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def load_template(layer: str) -> dict:
    return parse_template((CFN_DIR / f"{layer}.yaml").read_text())


def load_params(env: str, layer: str) -> dict[str, str]:
    items = json.loads((CFN_DIR / "params" / env / f"{layer}.json").read_text())
    return {item["ParameterKey"]: item["ParameterValue"] for item in items}


def embedded_signal_script() -> str:
    """The copy of signal-ready.sh inside compute.yaml's user data."""
    user_data = load_template("compute")["Resources"]["LaunchTemplate"]["Properties"][
        "LaunchTemplateData"
    ]["UserData"]["Fn::Base64"]["Fn::Sub"]
    match = re.search(
        rf"<<'{SIGNAL_MARKER}'\n(.*?)^{SIGNAL_MARKER}$", user_data, re.MULTILINE | re.DOTALL
    )
    assert match, "compute.yaml user data has no signal-ready heredoc"
    return match.group(1)


def run_playbook(
    env: dict[str, str], extra_vars: dict, *, playbook: str, inventory: Path, timeout: int = 600
) -> subprocess.CompletedProcess:
    """ansible-playbook with extra vars as JSON; returns the completed process (never raises)."""
    return subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(inventory),
            str(REPO / "playbooks" / playbook),
            "-e",
            json.dumps(extra_vars),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def recap_counts(stdout: str) -> dict[str, int]:
    """ok/changed/failed counts of localhost from the PLAY RECAP line."""
    line = next(
        (ln for ln in stdout.splitlines() if ln.startswith("localhost") and "changed=" in ln), ""
    )
    assert line, f"no PLAY RECAP in output:\n{stdout[-3000:]}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
