#!/usr/bin/env python3
"""Time table of a test run: each target's seconds against its budget.

The Makefile's `run_timed` appends one row per target to a TSV file (build/test-times.tsv):

    stream <TAB> target <TAB> seconds <TAB> ok|failed

Rows whose stream is `total` hold the wall time of a whole run (`test-quick`, `test`).
Budgets come from the `BUDGET_<target>` Make variables, passed as `--budget NAME=SECONDS`.
`--machine-factor F` (scripts/machine_speed.py: how much slower this machine is than the one
the budgets were measured on) multiplies the per-target budgets, not the wall ones: CI's time
limit is the same on every machine. `--scale F` multiplies every budget.

    test_times.py report --run test --budget lint=150 ... build/test-times.tsv
        prints the table; exit 1 when a target failed or went over its budget
    test_times.py check --budget lint=150 ... lint web-unit ...
        exit 2 unless every named target has a budget (catches a missing one in test-quick)

Exit 2 with a message naming the target when a budget is missing or not a number.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

TOTAL_STREAM = "total"
# The order of `make test`; the two parallel streams finish their targets interleaved.
STREAM_ORDER = ("setup", "quick", "molecule", "slow")
STATUSES = ("ok", "failed")
FIELDS = len(("stream", "target", "seconds", "status"))
EXIT_OVER, EXIT_BUDGET = 1, 2
BUDGET_HINT = "declare BUDGET_{name} ?= <seconds> in the mk/*.mk file that registers it"


class BudgetError(Exception):
    """A budget is missing or malformed; the message names the target."""


@dataclass(frozen=True)
class Row:
    stream: str
    target: str
    seconds: int
    status: str


@dataclass(frozen=True)
class Verdict:
    over: list[tuple[str, int]]  # (target, seconds over budget)
    failed: list[str]

    @property
    def ok(self) -> bool:
        return not self.over and not self.failed


def parse_budgets(items: list[str]) -> dict[str, str]:
    """NAME=SECONDS pairs; the value stays a string so that an empty one can be reported."""
    budgets: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BudgetError(f"--budget {item!r}: expected NAME=SECONDS")
        budgets[name] = value.strip()
    return budgets


def budget_of(name: str, budgets: dict[str, str]) -> int:
    value = budgets.get(name, "")
    if not value:
        raise BudgetError(f"no budget for target {name}: " + BUDGET_HINT.format(name=name))
    if not value.isdigit() or int(value) == 0:
        raise BudgetError(
            f"budget of target {name} is {value!r}, not a whole number of seconds > 0: "
            + BUDGET_HINT.format(name=name)
        )
    return int(value)


def check_budgets(names: list[str], budgets: dict[str, str]) -> list[str]:
    """Error messages, one per target without a usable budget."""
    errors = []
    for name in names:
        try:
            budget_of(name, budgets)
        except BudgetError as e:
            errors.append(str(e))
    return errors


def read_rows(path: Path) -> list[Row]:
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != FIELDS or not fields[2].isdigit() or fields[3] not in STATUSES:
            raise ValueError(f"{path}:{number}: not 'stream<TAB>target<TAB>seconds<TAB>ok|failed'")
        rows.append(Row(fields[0], fields[1], int(fields[2]), fields[3]))
    return rows


def judge(rows: list[Row], budgets: dict[str, int]) -> Verdict:
    over = [
        (r.target, r.seconds - budgets[r.target]) for r in rows if r.seconds > budgets[r.target]
    ]
    # A run (total row) that failed has a failed target above it, unless a stream broke down.
    failed_targets = [r.target for r in rows if r.status == "failed" and r.stream != TOTAL_STREAM]
    failed_runs = [r.target for r in rows if r.status == "failed" and r.stream == TOTAL_STREAM]
    failed = failed_targets or failed_runs
    return Verdict(over=over, failed=failed)


def result_of(row: Row, budget: int) -> str:
    if row.status == "failed":
        return "FAILED"
    if row.seconds > budget:
        return f"OVER +{row.seconds - budget}s"
    return "OK"


def render(
    rows: list[Row], budgets: dict[str, int], run: str, scale: float = 1.0, machine: float = 1.0
) -> str:
    targets = sorted(
        (r for r in rows if r.stream != TOTAL_STREAM),
        key=lambda r: (
            STREAM_ORDER.index(r.stream) if r.stream in STREAM_ORDER else len(STREAM_ORDER)
        ),
    )
    totals = [r for r in rows if r.stream == TOTAL_STREAM]
    width = max([len("target"), *(len(r.target) for r in rows)])
    head = f"{'target':<{width}}  {'stream':<8}  {'seconds':>7}  {'budget':>6}  result"
    rule = "-" * len(head)
    scaled = f" x {scale:g} (BUDGET_SCALE)" if scale != 1 else ""
    if machine != 1:
        scaled += f"; per target x {machine:g} (machine factor)"
    title = f"{run}: time per target (seconds; budgets: BUDGET_<target>{scaled})"
    lines = [title, rule, head, rule]
    for r in targets:
        lines.append(
            f"{r.target:<{width}}  {r.stream:<8}  {r.seconds:>7}  {budgets[r.target]:>6}  "
            + result_of(r, budgets[r.target])
        )
    streams: dict[str, int] = {}
    for r in targets:
        streams[r.stream] = streams.get(r.stream, 0) + r.seconds
    if streams:
        lines.append(rule)
        lines.append("sum per stream: " + ", ".join(f"{s} {n}s" for s, n in streams.items()))
    if totals:
        lines.append(rule)
        for r in totals:
            lines.append(
                f"{r.target:<{width}}  {'wall':<8}  {r.seconds:>7}  {budgets[r.target]:>6}  "
                + result_of(r, budgets[r.target])
            )
    lines.append(rule)
    return "\n".join(lines)


def verdict_line(run: str, verdict: Verdict) -> str:
    if verdict.ok:
        return f"{run}: OK (every target passed within its budget)"
    parts = []
    if verdict.failed:
        parts.append("failed: " + ", ".join(verdict.failed))
    if verdict.over:
        over = ", ".join(f"{name} (+{seconds}s)" for name, seconds in verdict.over)
        parts.append("over budget: " + over)
    return f"{run}: FAILED; " + "; ".join(parts)


def report(
    path: Path, raw_budgets: dict[str, str], run: str, scale: float = 1.0, machine: float = 1.0
) -> tuple[int, str]:
    """(exit code, text): 0 all OK, 1 a target failed or went over, 2 a budget is missing."""
    rows = read_rows(path)
    errors = check_budgets(list(dict.fromkeys(r.target for r in rows)), raw_budgets)
    if errors:
        listing = "\n".join(f"  {r.stream}\t{r.target}\t{r.seconds}s\t{r.status}" for r in rows)
        return EXIT_BUDGET, f"{run}: measured times ({path}):\n{listing}\n" + "\n".join(
            f"{run}: ERROR: {e}" for e in errors
        )
    budgets = {
        r.target: math.ceil(
            budget_of(r.target, raw_budgets) * scale * (1 if r.stream == TOTAL_STREAM else machine)
        )
        for r in rows
    }
    verdict = judge(rows, budgets)
    text = render(rows, budgets, run, scale, machine) + "\n" + verdict_line(run, verdict)
    return (0 if verdict.ok else EXIT_OVER), text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="print the table; exit 1 on a failed or over-budget target")
    rep.add_argument("times", type=Path, help="the TSV written by run_timed")
    rep.add_argument("--run", default="test", help="name of the run, for the headings")
    # A machine shared with other runs is slower everywhere: one factor instead of N overrides.
    rep.add_argument("--scale", type=float, default=1.0, help="multiply every budget (> 0)")
    rep.add_argument(
        "--machine-factor", type=float, default=1.0, help="multiply the per-target budgets (>= 1)"
    )
    chk = sub.add_parser("check", help="exit 2 unless every named target has a budget")
    chk.add_argument("targets", nargs="+")
    for p in (rep, chk):
        p.add_argument("--budget", action="append", default=[], metavar="NAME=SECONDS")
    args = parser.parse_args(argv)
    try:
        budgets = parse_budgets(args.budget)
    except BudgetError as e:
        print(f"test_times.py: ERROR: {e}", file=sys.stderr)
        return EXIT_BUDGET
    if args.command == "check":
        errors = check_budgets(args.targets, budgets)
        for e in errors:
            print(f"test_times.py: ERROR: {e}", file=sys.stderr)
        if not errors:
            print(f"budgets: all {len(args.targets)} timed targets have one")
        return EXIT_BUDGET if errors else 0
    if args.scale <= 0:
        print(f"test_times.py: ERROR: --scale {args.scale:g}: must be > 0", file=sys.stderr)
        return EXIT_BUDGET
    if args.machine_factor < 1:
        print(
            f"test_times.py: ERROR: --machine-factor {args.machine_factor:g}: must be >= 1",
            file=sys.stderr,
        )
        return EXIT_BUDGET
    code, text = report(args.times, budgets, args.run, args.scale, args.machine_factor)
    print(text, file=sys.stderr if code == EXIT_BUDGET else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
