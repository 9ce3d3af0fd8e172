#!/usr/bin/env python3
"""Render bench-web results: medians and spread over the rounds, ratios, the issue's targets.

    report.py RESULTS.json [DOCS.md]

With DOCS.md, the text between the bench-web markers in that file is replaced.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

BEGIN, END = "<!-- bench-web:begin -->", "<!-- bench-web:end -->"
DB_PAGE = "/notes/"


def fmt(value, digits=1):
    return "n/a" if value is None else f"{value:.{digits}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def times(value):
    return "n/a" if value is None else f"{value:.2f}x"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values, digits=1):
    """`median (min-max)` of a list of samples; runs without any answer have no latency."""
    missing = sum(v is None for v in values)
    values = [v for v in values if v is not None]
    note = f" [{missing} run(s) without answers]" if missing else ""
    if not values:
        return "n/a" + note
    if len(values) == 1:
        return fmt(values[0], digits) + note
    return (
        f"{fmt(median(values), digits)} ({fmt(min(values), digits)}-{fmt(max(values), digits)})"
        + note
    )


class Results:
    def __init__(self, data: dict):
        self.meta, self.samples = data["meta"], data["samples"]
        self.configs = self.meta["configs"]
        self.kind = {c["name"]: c["kind"] for c in self.configs}

    def of(self, config: str, page: str) -> list[dict]:
        return sorted(
            (s for s in self.samples if s["config"] == config and s["page"] == page),
            key=lambda s: s["round"],
        )

    def med(self, config: str, page: str, key: str):
        return median(s[key] for s in self.of(config, page))

    def named(self, kind: str) -> list[str]:
        return [c["name"] for c in self.configs if c["kind"] == kind]

    def per_round(self, a: str, b: str, page: str) -> list[tuple[int, float | None, float | None]]:
        """(round, a/b req/s, a/b p99) for each round in which both were measured (paired)."""
        bs = {s["round"]: s for s in self.of(b, page)}
        return [
            (
                s["round"],
                ratio(s["rps"], bs[s["round"]]["rps"]),
                ratio(s["p99_ms"], bs[s["round"]]["p99_ms"]),
            )
            for s in self.of(a, page)
            if s["round"] in bs
        ]

    def best(self, kind: str, page: str) -> str | None:
        """The configuration of that kind with the highest median req/s and no errors."""
        names = [
            n
            for n in self.named(kind)
            if self.of(n, page) and not any(s["errors"] for s in self.of(n, page))
        ]
        return max(names, key=lambda n: self.med(n, page, "rps")) if names else None


def target_line(res: Results, a: str, b: str, rps_min: float, p99_max: float) -> str:
    pairs = res.per_round(a, b, DB_PAGE)
    rps_m, p99_m = median(p[1] for p in pairs), median(p[2] for p in pairs)
    rps_ok = rps_m is not None and rps_m >= rps_min
    p99_ok = p99_m is not None and p99_m <= p99_max
    rounds = ", ".join(f"{times(x)} / {times(y)}" for _, x, y in pairs) or "none"
    return (
        f"median of per-round ratios {times(rps_m)} req/s (target >= {rps_min}x: "
        f"{'met' if rps_ok else 'NOT met'}), p99 {times(p99_m)} (target <= {p99_max}x: "
        f"{'met' if p99_ok else 'NOT met'}); per round (req/s / p99): {rounds}"
    )


def render(data: dict) -> str:
    res = Results(data)
    meta = res.meta
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(meta.get("started", time.time())))
    loads = "; ".join(
        f"round {m['round']} {m['load_start']} -> {m['load_end']}" for m in meta["rounds_meta"]
    )
    lines = [
        f"Measured {when}: {meta['rounds']} rounds (configuration order rotated each round), "
        f"wrk {meta['wrk_threads']} thread(s), {meta['connections']} connections, "
        f"{meta['seconds']} s per measurement after a {meta['warmup']} s warm-up; "
        f"{meta['cpus']} vCPUs shared by wrk, nginx, gunicorn and PostgreSQL; "
        f"wall time {meta['wall_s'] / 60:.1f} min.",
        "",
        f"Load average (1/5/15 min) at start -> end of each round: {loads}.",
        "",
        "Median over the rounds, (min-max) in brackets; ratios are of the medians; errors and "
        "worker restarts (gunicorn max_requests recycling a worker) summed over the rounds.",
        "",
        "| configuration | page | req/s | p50 ms | p99 ms | errors | worker restarts "
        "| req/s vs baseline | p99 vs baseline |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = res.named("baseline")[0] if res.named("baseline") else None
    pages = sorted({s["page"] for s in res.samples}, key=lambda p: p != "/health/")
    for cfg in res.configs:
        for page in pages:
            ss = res.of(cfg["name"], page)
            if not ss:
                continue
            rps, p99 = res.med(cfg["name"], page, "rps"), res.med(cfg["name"], page, "p99_ms")
            b_rps = res.med(base, page, "rps") if base else None
            b_p99 = res.med(base, page, "p99_ms") if base else None
            lines.append(
                f"| {cfg['name']} | `{page}` | {spread([s['rps'] for s in ss])} "
                f"| {spread([s['p50_ms'] for s in ss])} | {spread([s['p99_ms'] for s in ss])} "
                f"| {sum(s['errors'] for s in ss)} | {sum(s.get('restarts', 0) for s in ss)} "
                f"| {times(ratio(rps, b_rps))} "
                f"| {times(ratio(p99, b_p99))} |"
            )

    models = list(dict.fromkeys(c["model"] for c in res.configs if c["kind"] == "direct"))
    ours = res.named("ours")[0] if res.named("ours") else None
    behind = {c["model"]: c["name"] for c in res.configs if c["kind"] in ("ours", "nginx")}
    direct = {c["model"]: c["name"] for c in res.configs if c["kind"] == "direct"}
    lines += [
        "",
        "Worker models (median req/s and p99 ms), direct and behind our nginx (for "
        f"{meta['ours_model']}, the role default, behind nginx = ours via the systemd socket):",
        "",
        "| model | page | direct req/s | direct p99 | behind nginx req/s | behind nginx p99 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for page in pages:
        for model in models:
            d, n = direct.get(model), behind.get(model)
            lines.append(
                f"| {model}{' (default)' if model == meta['ours_model'] else ''} | `{page}` "
                f"| {fmt(res.med(d, page, 'rps'))} | {fmt(res.med(d, page, 'p99_ms'))} "
                f"| {fmt(res.med(n, page, 'rps')) if n else 'n/a'} "
                f"| {fmt(res.med(n, page, 'p99_ms')) if n else 'n/a'} |"
            )

    lines += ["", f"Targets (DB-backed page `{DB_PAGE}`; met only if the median meets it):", ""]
    if ours and base:
        lines.append(f"- ours vs baseline: {target_line(res, ours, base, 6, 0.25)}")
    best_direct = res.best("direct", DB_PAGE)
    if ours and best_direct:
        lines.append(
            f"- through nginx (ours) vs the best direct gunicorn ({best_direct}): "
            f"{target_line(res, ours, best_direct, 0.9, 1.5)}"
        )
    names_behind = [n for n in (ours, *res.named("nginx")) if n]
    if names_behind:
        best_behind = max(names_behind, key=lambda n: res.med(n, DB_PAGE, "rps") or 0)
        lowest_p99 = min(names_behind, key=lambda n: res.med(n, DB_PAGE, "p99_ms") or 1e12)
        lines.append(
            f"- behind nginx, highest median req/s: {best_behind} "
            f"({fmt(res.med(best_behind, DB_PAGE, 'rps'))} req/s, p99 "
            f"{fmt(res.med(best_behind, DB_PAGE, 'p99_ms'))} ms); lowest median p99: "
            f"{lowest_p99} ({fmt(res.med(lowest_p99, DB_PAGE, 'p99_ms'))} ms)"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    results, *docs_arg = sys.argv[1:]
    table = render(json.loads(Path(results).read_text(encoding="utf-8")))
    print(table)
    if docs_arg and docs_arg[0]:
        docs = Path(docs_arg[0])
        text = docs.read_text(encoding="utf-8") if docs.exists() else f"{BEGIN}\n{END}\n"
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        docs.write_text(f"{head}{BEGIN}\n{table}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
