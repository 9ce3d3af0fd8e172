"""The prometheus role's alert rules: promtool check + `promtool test rules`, and coverage.

Every shipped alert must have a promtool test in which it fires and one in which it is
evaluated and stays silent, a severity, and a runbook link to an existing anchor of
docs/runbook-alerts.md.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import promql  # tests/monitoring is on sys.path (rootdir-relative, no __init__.py)
import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PROMTOOL = REPO / "scripts/promtool.sh"
RUNBOOK = REPO / "docs/runbook-alerts.md"
TEST_FILES = sorted((HERE / "rules").glob("*.test.yml"))
EXPECTED_ALERTS = {
    "InstanceDown",
    "TargetMissing",
    "DjangoNotReady",
    "DjangoHigh5xxRatio",
    "DjangoHighLatencyP95",
    "HostMemorySaturated",
    "HostDiskFilling",
    "HostCpuSaturated",
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """The rendered rules with copies of the test files beside them (promtool resolves
    rule_files relative to each test file)."""
    dest = tmp_path_factory.mktemp("rules")
    rules = promql.render_rules(dest)
    for test_file in TEST_FILES:
        shutil.copy(test_file, dest / test_file.name)
    return rules


@pytest.fixture(scope="module")
def alerts(rendered) -> dict[str, dict]:
    doc = yaml.safe_load(rendered.read_text())
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_promtool_check_rules(rendered):
    proc = promtool("check", "rules", rendered.name, cwd=rendered.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in proc.stdout


def test_promtool_test_rules(rendered):
    names = [f.name for f in TEST_FILES]
    assert names, "no *.test.yml under tests/monitoring/rules"
    proc = promtool("test", "rules", *names, cwd=rendered.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_expected_alerts_ship(alerts):
    assert set(alerts) == EXPECTED_ALERTS


def test_each_alert_has_severity_and_runbook_anchor(alerts):
    anchors = {
        m.group(1).lower().replace(" ", "-")
        for m in re.finditer(r"^#+\s+(.+?)\s*$", RUNBOOK.read_text(), re.M)
    }
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        url = rule["annotations"]["runbook_url"]
        assert url.endswith(f"docs/runbook-alerts.md#{name.lower()}"), url
        assert name.lower() in anchors, f"docs/runbook-alerts.md has no section {name}"
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


def test_each_alert_is_tested_firing_and_silent():
    fires: set[str] = set()
    silent: set[str] = set()
    for test_file in TEST_FILES:
        for case in yaml.safe_load(test_file.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check["exp_alerts"] else silent).add(check["alertname"])
    assert fires >= EXPECTED_ALERTS, f"never shown firing: {EXPECTED_ALERTS - fires}"
    assert silent >= EXPECTED_ALERTS, f"never shown silent: {EXPECTED_ALERTS - silent}"


def test_a_changed_threshold_changes_the_outcome(tmp_path):
    """The tests pin the default thresholds: raising one makes its firing case fail."""
    promql.render_rules(tmp_path, {"prometheus_alert_latency_p95_seconds": 2.0})
    shutil.copy(HERE / "rules/app.test.yml", tmp_path)
    proc = promtool("test", "rules", "app.test.yml", cwd=tmp_path)
    assert proc.returncode != 0
    assert "DjangoHighLatencyP95" in proc.stdout + proc.stderr
