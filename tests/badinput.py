"""One harness for every bad-input suite: a table of cases, one runner, one set of checks.

A suite (tests/aws, tests/monitoring, molecule/{web,node_exporter,lb_db}/tests) lists its cases
with `case()` and calls `run()` (one ansible-playbook run per case), or `run_as_hosts()` (one run,
every case a host of its own), then `assert_refused()` on each result. A case applies one role
alone (tests/apply_role.yml) or a whole playbook under playbooks/; the run uses the JSON callback,
so the checks read the failed task's own message and the list of every task that ran.

It imports nothing of pytest: Molecule's verifier (testinfra) imports it from the scenario's
tests through PYTHONPATH (.config/molecule/config.yml), the controller tests from tests/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ROLES = REPO / "collections/ansible_collections/devops/django/roles"
APPLY_ROLE = REPO / "tests/apply_role.yml"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
_ROLE_PREFIX = re.compile(r"^[\w.]+ : ")  # "devops.django.nginx : " before a role's task name


@dataclass(frozen=True)
class Case:
    """One bad input: what runs, the variable the refusal must name, what else it must say."""

    target: str  # a role applied alone, or a playbook under playbooks/ ("infra.yml")
    variable: str  # the failure message names it
    vars: Mapping  # the bad input (extra vars, or host vars in run_as_hosts)
    expect: tuple[str, ...] = ()  # more fragments the failure message contains
    allowed: frozenset[str] = frozenset()  # other role variables the message may name
    host: str | None = None  # --limit: the host that must refuse
    inventory: str | None = None  # a suite's own key for the inventory to use ("dev", "prod")

    @property
    def playbook(self) -> Path:
        if self.target.endswith(".yml"):
            return REPO / "playbooks" / self.target
        return APPLY_ROLE


def case(
    target: str,
    variable: str,
    bad: Mapping,
    *expect: str,
    allowed: Iterable[str] = (),
    host: str | None = None,
    inventory: str | None = None,
) -> Case:
    """A row of a suite's table: `case(role or playbook, variable, bad vars, *fragments)`."""
    return Case(target, variable, bad, tuple(expect), frozenset(allowed), host, inventory)


def short_name(task: str) -> str:
    """A task's name without the "devops.django.<role> : " that the JSON callback puts first."""
    return _ROLE_PREFIX.sub("", task, count=1)


@dataclass
class Result:
    """What one host did in one ansible-playbook run (JSON callback)."""

    host: str
    returncode: int
    raw: str  # stdout + stderr: every task result in full, for the secret checks
    stats: dict = field(default_factory=dict)
    tasks: list[tuple[str, dict]] = field(default_factory=list)  # (full task name, result)

    @property
    def names(self) -> list[str]:
        """Names of the tasks that ran on the host, without the "role : " prefix."""
        return [short_name(name) for name, _ in self.tasks]

    @property
    def failed(self) -> list[tuple[str, dict]]:
        return [(name, result) for name, result in self.tasks if result.get("failed")]

    @property
    def messages(self) -> list[str]:
        """Messages of the failed results and of the failed items of failed loops."""
        return [
            str(item.get("msg", ""))
            for _, result in self.failed
            for item in (result.get("results") or [result])
            if item.get("failed")
        ]

    @property
    def message(self) -> str:
        return "\n".join(self.messages)

    def tail(self, size: int = 3000) -> str:
        return self.raw[-size:]


def _results(report: dict | None, proc_rc: int, raw: str, hosts: Iterable[str]) -> dict:
    out = {}
    for host in hosts:
        tasks = [
            (task["task"]["name"], task["hosts"][host])
            for play in (report or {}).get("plays", [])
            for task in play["tasks"]
            if host in task["hosts"]
        ]
        stats = (report or {}).get("stats", {}).get(host, {})
        out[host] = Result(host, proc_rc, raw, stats, tasks)
    return out


def _ansible_playbook(
    playbook: Path,
    inventory: str | Path,
    extra: Mapping,
    *args: str,
    env: Mapping | None = None,
    check: bool = True,
    timeout: int = 600,
) -> tuple[int, dict | None, str]:
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory), *(["--check"] if check else []), *args,
         "-e", json.dumps(extra), str(playbook)],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
        env={
            **(os.environ if env is None else env),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        },
    )  # fmt: skip
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:  # ansible stopped before the play: the checks show the output
        report = None
    return proc.returncode, report, proc.stdout + proc.stderr


def run(
    bad: Case,
    inventory: str | Path,
    *args: str,
    base: Mapping | None = None,
    env: Mapping | None = None,
    check: bool = True,
    timeout: int = 600,
) -> Result:
    """Run the case once: its playbook (or the role alone) with `base` and its vars as extra
    vars, limited to its host; `args` are more ansible-playbook arguments."""
    host = bad.host or "localhost"
    extra = {**(base or {}), **bad.vars}
    if bad.playbook == APPLY_ROLE:
        extra = {"role_under_test": bad.target, **extra}
    limit = ["--limit", bad.host] if bad.host else []
    rc, report, raw = _ansible_playbook(
        bad.playbook, inventory, extra, *limit, *args, env=env, check=check, timeout=timeout
    )
    return _results(report, rc, raw, [host])[host]


def run_all(cases: Mapping[str, Case], inventory, *args, workers: int = 4, **kwargs) -> dict:
    """`run()` every case, a few at a time (the machine is shared; each is a full run)."""
    with ThreadPoolExecutor(max_workers=min(workers, len(cases))) as pool:
        futures = {k: pool.submit(run, c, inventory, *args, **kwargs) for k, c in cases.items()}
        return {k: future.result() for k, future in futures.items()}


def run_as_hosts(
    cases: Mapping[str, Case],
    tmp: Path,
    host_vars: Mapping,
    *args: str,
    env: Mapping | None = None,
    timeout: int = 600,
) -> dict[str, Result]:
    """One run of apply_role.yml in check mode for every case at once: each case is an
    inventory host named after it (with `host_vars`, e.g. a local connection) that applies
    its role to its bad vars."""
    hosts = {
        name: {**host_vars, "role_under_test": c.target, **c.vars} for name, c in cases.items()
    }
    inventory = tmp / "bad-input-hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    rc, report, raw = _ansible_playbook(
        APPLY_ROLE, inventory, {}, "--forks", "8", *args, env=env, timeout=timeout
    )
    return _results(report, rc, raw, hosts)


def role_variables(*roles: str) -> set[str]:
    """Every variable the roles' argument specs declare."""
    names: set[str] = set()
    for role in roles:
        spec = yaml.safe_load((ROLES / role / "meta/argument_specs.yml").read_text())
        names |= set(spec["argument_specs"]["main"]["options"])
    return names


def task_names(role: str, *files: str) -> set[str]:
    """Names of the tasks in the role's tasks/<file>s, blocks included."""

    def walk(tasks):
        for task in tasks or []:
            yield task.get("name", "")
            for part in ("block", "rescue", "always"):
                yield from walk(task.get(part))

    return {
        name
        for file in files
        for name in walk(yaml.safe_load((ROLES / role / "tasks" / file).read_text()))
    }


def assert_refused(
    result: Result,
    bad: Case,
    *,
    variables: Iterable[str] | None = None,
    may_run: Callable[[str], bool] | None = None,
    never_run: Callable[[str], bool] | None = None,
    fails_at: Callable[[str], bool] | None = None,
    secrets: Iterable[str] = (),
    one_message: bool = False,
) -> None:
    """The run failed on the case's host at exactly one task, before any change, with a
    message that names the variable and every expected fragment.

    variables: role variables the message must not name unless the case's variable, its
        `allowed` ones or ones inside an expected fragment (None: not checked).
    may_run / never_run: which tasks (full names, "role : task") may or must not have run.
    fails_at: the failed task's full name must pass it.
    secrets: strings of the input that no output may print.
    one_message: exactly one failed result (no failed loop items besides it).
    """
    tail = result.tail()
    assert result.returncode != 0, f"the run succeeded: {tail}"
    assert result.stats, f"no play ran on {result.host}: {tail}"
    assert result.stats.get("failures") == 1, result.stats
    assert result.stats.get("changed") == 0, result.stats
    failed = [name for name, _ in result.failed]
    assert len(failed) == 1, f"exactly one failed task expected: {failed}"
    changed = [name for name, r in result.tasks if r.get("changed")]
    assert not changed, f"tasks changed the host: {changed}"
    if may_run is not None:
        names = [name for name, _ in result.tasks]
        assert names, "no task ran"
        assert all(may_run(name) for name in names), f"not a check task: {names}"
    if never_run is not None:
        ran = [name for name, _ in result.tasks if never_run(name)]
        assert not ran, f"ran before the failure: {ran}"
    if fails_at is not None:
        assert fails_at(failed[0]), f"failed at {failed[0]!r}, not at a check"
    if one_message:
        assert len(result.messages) == 1, result.messages
    message = result.message
    assert bad.variable in message, f"{bad.variable!r} not named in: {message!r}"
    for text in bad.expect:
        assert text in message, f"{text!r} not in: {message!r}"
    if variables is not None:
        others = set(variables) - {bad.variable} - bad.allowed
        others -= {v for v in others if any(re.search(rf"\b{v}\b", t) for t in bad.expect)}
        named = sorted(v for v in others if re.search(rf"\b{v}\b", message))
        assert not named, f"the message names unrelated variables {named}: {message!r}"
    for secret in secrets:
        assert secret not in result.raw, "a secret from the bad input was printed"
