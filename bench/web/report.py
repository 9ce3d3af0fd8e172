#!/usr/bin/env python3
"""Render bench-web results as a Markdown table with ratios and the issue's targets.

    report.py RESULTS.json [DOCS.md]

With DOCS.md, the text between the bench-web markers in that file is replaced.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

BEGIN, END = "<!-- bench-web:begin -->", "<!-- bench-web:end -->"
OURS, BASELINE = (
    "ours: nginx -> gunicorn socket",
    "baseline: bare nginx -> 3 sync, no persistent DB",
)


def fmt(value, digits=1):
    return "n/a" if value is None else f"{value:.{digits}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def times(value):
    return "n/a" if value is None else f"{value:.2f}x"


def render(data: dict) -> str:
    meta, results = data["meta"], data["results"]
    by = {(r["config"], r["page"]): r for r in results}
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"wrk {meta['threads']} threads, "
        f"{meta['connections']} connections, {meta['duration_s']} s per run after a 2 s warm-up, "
        f"{meta['cpus']} vCPUs shared by wrk, nginx, gunicorn and PostgreSQL"
        + (
            f"; host load average at start {meta['loadavg_start']}"
            if meta.get("loadavg_start")
            else ""
        )
        + ".",
        "",
        "| configuration | page | req/s | p50 ms | p99 ms | errors "
        "| req/s vs baseline | p99 vs baseline |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        base = by.get((BASELINE, r["page"]), {})
        lines.append(
            f"| {r['config']} | `{r['page']}` | {fmt(r['rps'])} | {fmt(r['p50_ms'])} "
            f"| {fmt(r['p99_ms'])} | "
            f"{r['errors']} | {times(ratio(r['rps'], base.get('rps')))} | "
            f"{times(ratio(r['p99_ms'], base.get('p99_ms')))} |"
        )
    lines += ["", "Targets (DB-backed page `/notes/`):", ""]
    ours, base = by.get((OURS, "/notes/")), by.get((BASELINE, "/notes/"))
    if ours and base:
        rps_x, p99_x = ratio(ours["rps"], base["rps"]), ratio(ours["p99_ms"], base["p99_ms"])
        lines.append(
            f"- ours vs baseline: {times(rps_x)} req/s (target >= 6x: "
            f"{'met' if rps_x and rps_x >= 6 else 'NOT met'}), p99 {times(p99_x)} "
            f"(target <= 0.25x: {'met' if p99_x is not None and p99_x <= 0.25 else 'NOT met'})"
        )
    direct = [
        r
        for r in results
        if r["config"].startswith("direct") and r["page"] == "/notes/" and r["errors"] == 0
    ]
    if ours and direct:
        best = max(direct, key=lambda r: r["rps"])
        rps_x, p99_x = ratio(ours["rps"], best["rps"]), ratio(ours["p99_ms"], best["p99_ms"])
        lines.append(
            f"- through nginx vs best direct gunicorn ({best['config']}): {times(rps_x)} req/s "
            f"(target >= 0.9x: {'met' if rps_x and rps_x >= 0.9 else 'NOT met'}), "
            f"p99 {times(p99_x)} "
            f"(target <= 1.5x: {'met' if p99_x is not None and p99_x <= 1.5 else 'NOT met'})"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text())
    table = render(data)
    print(table)
    if len(sys.argv) > 2 and sys.argv[2]:
        docs = Path(sys.argv[2])
        text = docs.read_text() if docs.exists() else f"{BEGIN}\n{END}\n"
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        docs.write_text(f"{head}{BEGIN}\n{table}{END}{tail}")


if __name__ == "__main__":
    main()
