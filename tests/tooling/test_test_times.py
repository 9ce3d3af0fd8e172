"""scripts/test_times.py: the table `make test` prints and its pass/fail decision."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "test_times.py"


def load_script(name: str):
    """scripts/<name>.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPT.with_name(f"{name}.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


tt = load_script("test_times")
ms = load_script("machine_speed")

BUDGETS = ["lint=150", "web-unit=60", "molecule-web=710", "test-stack=1450", "test=2700"]


def write_times(tmp_path: Path, rows: list[tuple[str, str, int, str]]) -> Path:
    path = tmp_path / "test-times.tsv"
    path.write_text("".join(f"{s}\t{t}\t{n}\t{st}\n" for s, t, n, st in rows))
    return path


def run(
    times: Path, budgets: list[str] = BUDGETS, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(SCRIPT), "report", "--run", "test", *extra, str(times)]
    for b in budgets:
        args += ["--budget", b]
    return subprocess.run(args, capture_output=True, text=True, check=False)


ALL_OK = [
    ("quick", "lint", 120, "ok"),
    ("quick", "web-unit", 40, "ok"),
    ("molecule", "molecule-web", 600, "ok"),
    ("slow", "test-stack", 1200, "ok"),
    ("total", "test", 1400, "ok"),
]


def test_all_within_budget_passes_and_lists_every_row(tmp_path):
    result = run(write_times(tmp_path, ALL_OK))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for stream, target, seconds, _ in ALL_OK:
        row = next(line for line in lines if line.split()[:1] == [target])
        budget = tt.parse_budgets(BUDGETS)[target]
        expected_stream = "wall" if stream == "total" else stream
        assert row.split()[1:4] == [expected_stream, str(seconds), budget]
        assert row.split()[-1] == "OK"
    assert "sum per stream: quick 160s, molecule 600s, slow 1200s" in result.stdout
    assert lines[-1] == "test: OK (every target passed within its budget)"


def test_rows_are_grouped_by_stream_in_run_order(tmp_path):
    rows = [
        ("slow", "test-stack", 1200, "ok"),
        ("molecule", "molecule-web", 600, "ok"),
        ("quick", "lint", 120, "ok"),
        ("quick", "web-unit", 40, "ok"),
    ]
    result = run(write_times(tmp_path, rows))
    assert result.returncode == 0
    firsts = [line.split()[0] for line in result.stdout.splitlines() if line.split()[-1:] == ["OK"]]
    assert firsts == ["lint", "web-unit", "molecule-web", "test-stack"]


def test_target_over_budget_fails_after_listing_all(tmp_path):
    rows = list(ALL_OK)
    rows[2] = ("molecule", "molecule-web", 800, "ok")  # budget 710
    result = run(write_times(tmp_path, rows))
    assert result.returncode == 1
    web = next(line for line in result.stdout.splitlines() if "molecule-web" in line)
    assert web.endswith("OVER +90s")
    assert "test-stack" in result.stdout  # rows after the slow one are still in the table
    assert result.stdout.splitlines()[-1] == "test: FAILED; over budget: molecule-web (+90s)"


def test_scale_multiplies_every_budget(tmp_path):
    rows = [("quick", "lint", 200, "ok"), ("quick", "web-unit", 100, "ok")]
    times = write_times(tmp_path, rows)
    assert run(times).returncode == 1  # lint 150, web-unit 60
    scaled = run(times, extra=("--scale", "1.5"))  # lint 225, web-unit 90
    assert scaled.returncode == 1
    assert scaled.stdout.splitlines()[-1] == "test: FAILED; over budget: web-unit (+10s)"
    assert "x 1.5 (BUDGET_SCALE)" in scaled.stdout.splitlines()[0]
    assert run(times, extra=("--scale", "2")).returncode == 0


def test_exactly_on_budget_is_ok(tmp_path):
    rows = [("quick", "web-unit", 60, "ok")]
    assert run(write_times(tmp_path, rows)).returncode == 0


def test_failed_target_fails_even_within_budget(tmp_path):
    rows = list(ALL_OK)
    rows[1] = ("quick", "web-unit", 5, "failed")
    rows[-1] = ("total", "test", 1400, "failed")
    result = run(write_times(tmp_path, rows))
    assert result.returncode == 1
    web_unit = next(line for line in result.stdout.splitlines() if "web-unit" in line)
    assert web_unit.endswith("FAILED")
    # The run's own row failed because of web-unit: only the target is named.
    assert result.stdout.splitlines()[-1] == "test: FAILED; failed: web-unit"


def test_failed_and_over_are_both_named(tmp_path):
    rows = [("quick", "lint", 200, "ok"), ("quick", "web-unit", 5, "failed")]
    result = run(write_times(tmp_path, rows))
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == (
        "test: FAILED; failed: web-unit; over budget: lint (+50s)"
    )


def test_broken_stream_without_failed_target_fails(tmp_path):
    rows = [("quick", "lint", 100, "ok"), ("total", "test", 900, "failed")]
    result = run(write_times(tmp_path, rows))
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "test: FAILED; failed: test"


@pytest.mark.parametrize("budget", ["web-unit=", None, "web-unit=abc", "web-unit=0"])
def test_missing_or_bad_budget_is_an_error_naming_the_target(tmp_path, budget):
    budgets = [b for b in BUDGETS if not b.startswith("web-unit=")]
    if budget is not None:
        budgets.append(budget)
    result = run(write_times(tmp_path, ALL_OK), budgets)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "target web-unit" in errors[0]
    assert "BUDGET_web-unit" in errors[0]
    assert "lint\t120s\tok" in result.stderr  # the measured times are not lost


def test_check_names_each_target_without_budget():
    args = [sys.executable, str(SCRIPT), "check", "lint", "app-test", "test-cfn"]
    result = subprocess.run(
        [*args, "--budget", "lint=150"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "no budget for target app-test" in result.stderr
    assert "no budget for target test-cfn" in result.stderr
    assert "target lint" not in result.stderr


def test_check_passes_when_every_target_has_a_budget():
    args = [sys.executable, str(SCRIPT), "check", "lint", "test", "--budget", "lint=150"]
    result = subprocess.run([*args, "--budget", "test=2700"], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()


def test_malformed_times_row_is_reported_with_its_line(tmp_path):
    path = tmp_path / "test-times.tsv"
    path.write_text("quick\tlint\t120\tok\nquick\tweb-unit\tslow\tok\n")
    with pytest.raises(ValueError, match=r"test-times.tsv:2:"):
        tt.read_rows(path)


def test_machine_factor_scales_the_targets_not_the_wall(tmp_path):
    rows = [("quick", "lint", 200, "ok"), ("total", "test", 2800, "ok")]  # lint 150, test 2700
    times = write_times(tmp_path, rows)
    result = run(times, extra=("--machine-factor", "1.4"))  # lint 210; test stays 2700
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "test: FAILED; over budget: test (+100s)"
    assert "per target x 1.4 (machine factor)" in result.stdout.splitlines()[0]
    assert run(times, extra=("--machine-factor", "1.2")).stdout.splitlines()[-1] == (
        "test: FAILED; over budget: lint (+20s), test (+100s)"
    )


def test_machine_factor_below_one_is_refused(tmp_path):
    result = run(write_times(tmp_path, ALL_OK), extra=("--machine-factor", "0.8"))
    assert result.returncode == 2
    assert "--machine-factor 0.8: must be >= 1" in result.stderr


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(3.0, 1.0), (3.8, 1.0), (5.7, 1.5), (6.08, 1.6), (30.0, ms.MAX_FACTOR)],
)
def test_machine_factor_is_the_ratio_to_the_reference_within_bounds(seconds, expected):
    assert ms.factor(seconds, reference=3.8) == expected
