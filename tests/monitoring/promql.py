"""PromQL found in the project's dashboards and alert rules, and a live check of it.

Reused by the monitoring Molecule scenario and the stack tests:

    from promql import dashboard_queries, rule_queries, render_rules, check_queries

- `render_rules(dest)` renders the prometheus role's rule template with the role's
  defaults (what a host gets unless thresholds are overridden) into `dest`.
- `dashboard_queries(path)` / `rule_queries(path)` list every PromQL expression with
  where it came from; Grafana's `$__rate_interval`-style variables are replaced by
  plain durations so the expression runs as is against the Prometheus HTTP API.
- `check_queries(queries, run)` runs each through `run(expr) -> dict` (the parsed API
  answer, however the caller reaches Prometheus) and reports invalid queries and
  dashboard queries that return no series.

CLI: `python tests/monitoring/promql.py render DEST` and
`python tests/monitoring/promql.py list` (every query, one per line, for humans).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "collections/ansible_collections/devops/django/roles"
PROMETHEUS_ROLE = ROLES / "prometheus"
RULES_TEMPLATE = PROMETHEUS_ROLE / "templates/rules/devops_django.rules.yml.j2"
RULES_NAME = "devops_django.rules.yml"
DASHBOARDS_DIR = ROLES / "grafana/files/dashboards"

# Grafana's built-in interval variables, replaced by durations Prometheus accepts.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "${__rate_interval}": "5m",
    "$__interval": "1m",
    "${__interval}": "1m",
    "$__range": "1h",
    "${__range}": "1h",
}


@dataclass(frozen=True)
class Query:
    """One PromQL expression and where it was found."""

    source: str  # file name
    where: str  # "panel 'Request rate' A" or "alert InstanceDown"
    expr: str
    kind: str  # "panel" or "rule"

    def __str__(self) -> str:
        return f"{self.source}: {self.where}"


def render_rules(dest: Path, overrides: dict | None = None) -> Path:
    """Render the role's rule template with its defaults (plus overrides) into dest."""
    import jinja2  # noqa: PLC0415 - only the renderer needs it
    import yaml  # noqa: PLC0415

    defaults = yaml.safe_load((PROMETHEUS_ROLE / "defaults/main.yml").read_text())
    variables = {**defaults, **(overrides or {})}
    env = jinja2.Environment(  # noqa: S701 - renders YAML for Prometheus, not HTML
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    env.filters.setdefault("to_json", json.dumps)
    text = env.from_string(RULES_TEMPLATE.read_text()).render(
        ansible_managed="Rendered by tests/monitoring/promql.py", **variables
    )
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / RULES_NAME
    out.write_text(text)
    return out


def substitute_grafana_variables(expr: str) -> str:
    for name in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, GRAFANA_VARIABLES[name])
    leftover = re.findall(r"\$\{?\w+", expr)
    if leftover:
        raise ValueError(f"unknown Grafana variable(s) {leftover} in: {expr}")
    return expr


def _panels(panels: Iterable[dict]) -> Iterable[dict]:
    for panel in panels:
        yield panel
        # Rows carry their collapsed panels inside.
        yield from _panels(panel.get("panels", []))


def dashboard_queries(path: Path) -> list[Query]:
    """Every Prometheus target expression of every panel of one dashboard JSON file."""
    dashboard = json.loads(Path(path).read_text())
    queries = []
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr:
                continue
            where = f"panel {panel.get('title', '?')!r} {target.get('refId', '?')}"
            queries.append(
                Query(Path(path).name, where, substitute_grafana_variables(expr), "panel")
            )
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            raw = var.get("query")
            expr = raw.get("query") if isinstance(raw, dict) else raw
            if expr:
                # label_values(...) is Grafana syntax, not PromQL: check the metric it reads.
                match = re.fullmatch(r"label_values\((?:(.+),\s*)?(\w+)\)", expr.strip())
                if match:
                    expr = match.group(1) or f'{{{match.group(2)}=~".+"}}'
                queries.append(
                    Query(Path(path).name, f"variable {var.get('name')!r}", expr, "panel")
                )
    return queries


def rule_queries(path: Path) -> list[Query]:
    """Every alert and recording rule expression of one Prometheus rule file."""
    import yaml  # noqa: PLC0415

    doc = yaml.safe_load(Path(path).read_text())
    queries = []
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            kind = "alert" if "alert" in rule else "record"
            queries.append(Query(Path(path).name, f"{kind} {name}", rule["expr"].strip(), "rule"))
    return queries


def all_dashboard_queries(directory: Path = DASHBOARDS_DIR) -> list[Query]:
    return [q for f in sorted(Path(directory).glob("*.json")) for q in dashboard_queries(f)]


@dataclass
class CheckResult:
    checked: int
    invalid: list[str]
    empty: list[str]
    series: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.invalid and not self.empty


def check_queries(queries: Iterable[Query], run: Callable[[str], dict]) -> CheckResult:
    """Run each query; panel queries must return >= 1 series, every query must be valid.

    `run(expr)` returns the decoded JSON answer of /api/v1/query for expr.
    """
    result = CheckResult(0, [], [], {})
    for query in queries:
        result.checked += 1
        answer = run(query.expr)
        if answer.get("status") != "success":
            result.invalid.append(f"{query}: {answer.get('error', answer)} -- {query.expr}")
            continue
        data = answer.get("data", {})
        count = len(data.get("result", [])) if data.get("resultType") in ("vector", "matrix") else 1
        result.series[str(query)] = count
        if query.kind == "panel" and count == 0:
            result.empty.append(f"{query}: no series -- {query.expr}")
    return result


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "render":
        print(render_rules(Path(argv[1])))
        return 0
    if argv == ["list"]:
        import tempfile  # noqa: PLC0415

        with tempfile.TemporaryDirectory() as tmp:
            rules = rule_queries(render_rules(Path(tmp)))
        for query in all_dashboard_queries() + rules:
            print(f"{query}\n    {' '.join(query.expr.split())}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
