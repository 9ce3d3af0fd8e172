#!/usr/bin/env python3
"""Benchmark the web tier on one host (runs INSIDE the host, against 127.0.0.1 only).

    runner.py OUT.json [--seconds 5] [--warmup 1] [--rounds 3] [--connections 32]
              [--wrk-threads 1] [--models sync:5,gthread:3x4] [--app sampleapp] [--plan]

Configurations, each measured on /health/ and the DB-backed /notes/ with wrk:
- ours: nginx (port 80, the role's site) -> gunicorn on the systemd socket, as deployed;
- baseline (the seed's setup): gunicorn 3 sync workers, no config file, on TCP
  0.0.0.0:8000, DB_CONN_MAX_AGE=0, behind a second nginx with its own minimal nginx.conf
  (Debian's stock http settings) and a bare proxy_pass (HTTP/1.0, no upstream keepalive);
- each worker model (side gunicorns with our gunicorn.conf.py, the service's sandbox and
  environment) direct on 127.0.0.1:81xx and behind our nginx on 127.0.0.1:82xx (upstream
  and location copied from the role's rendered site, pointing at the side unix socket).
Rounds: every configuration once per round, the order rotated between rounds so drift in
the machine's load hits all of them alike; every sample is kept. Every run is bounded
(wrk -d, subprocess timeouts); transient units and the side nginx config are removed at
the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from http import HTTPStatus
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plan import (
    PAGES,
    Config,
    Model,
    configs,
    default_models,
    estimate_s,
    model_from_conf,
    parse_model,
    rounds_order,
)
from wrk_parse import parse

HERE = Path(__file__).resolve().parent
# After the app's site (sites-enabled/ is read after conf.d/), so its log_format etc. exist.
SIDE_SITE = Path("/etc/nginx/sites-enabled/zz-bench-web")
BASELINE_CONF = HERE / "baseline-nginx.conf"
BASELINE_MODEL = Model("sync", 3)
UNIT_PREFIX = "bench-web-"
# The service's sandbox, copied onto the side gunicorns so they pay the same (seccomp) costs.
HARDENING = re.compile(
    r"^(NoNewPrivileges|Protect\w+|Private\w+|Restrict\w+|SystemCall\w+|LockPersonality|"
    r"RemoveIPC|CapabilityBoundingSet|AmbientCapabilities|ProcSubset|UMask)="
)


def sh(*cmd: str, timeout: float = 60, check: bool = True) -> str:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr[-1500:]}")
    return done.stdout


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])


def wait_http(port: int, timeout: float = 60) -> None:
    """Until /health/ answers 200 (the workers import Django after the master binds)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/health/", headers={"Host": "localhost"}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - fixed 127.0.0.1 URL
                if resp.status == HTTPStatus.OK:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"127.0.0.1:{port}/health/ not 200 after {timeout}s: {last}")


def unit_lines(app: str) -> list[str]:
    return Path(f"/etc/systemd/system/{app}.service").read_text(encoding="utf-8").splitlines()


def start_unit(unit: str, props: list[str], argv: list[str]) -> None:
    sh("systemctl", "stop", f"{unit}.service", check=False)
    sh("systemctl", "reset-failed", f"{unit}.service", check=False)
    sh("systemd-run", f"--unit={unit}", "--collect", "--quiet", *props, *argv)


def app_props(app: str, unit: str) -> list[str]:
    """User, env files and working directory of the service (the current release)."""
    envs = [
        line.split("=", 1)[1] for line in unit_lines(app) if line.startswith("EnvironmentFile=")
    ]
    return [
        f"--property=User={app}",
        f"--property=Group={app}",
        *[f"--property=EnvironmentFile={e}" for e in envs],
        f"--property=WorkingDirectory=/srv/{app}/current",
        f"--property=RuntimeDirectory={unit}",
    ]


def start_side(app: str, model: Model, port: int) -> str:
    """Our gunicorn config with another worker model: unix socket (for nginx) + TCP (direct)."""
    unit = UNIT_PREFIX + model.slug
    lines = unit_lines(app)
    props = app_props(app, unit) + [f"--property={line}" for line in lines if HARDENING.match(line)]
    # gunicorn chowns the unix socket it binds (systemd binds the service's): allow only that.
    props.append("--property=SystemCallFilter=@chown")
    if any("PROMETHEUS_MULTIPROC_DIR" in line for line in lines):
        props.append(f"--setenv=PROMETHEUS_MULTIPROC_DIR=/run/{unit}/prometheus")
    start_unit(
        unit,
        props,
        [
            f"/srv/{app}/current/venv/bin/gunicorn",
            f"--config=/etc/{app}/gunicorn.conf.py",
            f"--bind=unix:/run/{unit}/gunicorn.sock",
            f"--bind=127.0.0.1:{port}",
            f"--worker-tmp-dir=/run/{unit}",
            *model.gunicorn_args(),
        ],
    )
    return unit


def start_baseline(app: str, wsgi: str) -> list[str]:
    """The seed: `gunicorn --workers 3 --bind 0.0.0.0:8000 app.wsgi`, no config, CONN_MAX_AGE=0."""
    gunicorn = UNIT_PREFIX + "baseline"
    start_unit(
        gunicorn,
        [*app_props(app, gunicorn), "--setenv=DB_CONN_MAX_AGE=0"],
        [
            f"/srv/{app}/current/venv/bin/gunicorn",
            "--workers=3",
            "--bind=0.0.0.0:8000",
            # gunicorn >= 25 opens a control socket under $HOME, which the app user lacks.
            *(["--no-control-socket"] if control_socket_flag(app) else []),
            wsgi,
        ],
    )
    nginx = UNIT_PREFIX + "baseline-nginx"
    sh("nginx", "-t", "-q", "-c", str(BASELINE_CONF))
    start_unit(nginx, [], ["/usr/sbin/nginx", "-c", str(BASELINE_CONF), "-g", "daemon off;"])
    return [gunicorn, nginx]


def control_socket_flag(app: str) -> bool:
    out = sh(f"/srv/{app}/current/venv/bin/gunicorn", "--help", check=False)
    return "--no-control-socket" in out


def proxied_server(app_site: str) -> tuple[list[str], list[str]]:
    """Server-level directives (but listen/server_name) and `location /` of the named server."""
    block: list[str] | None = None
    for line in app_site.splitlines():
        if line.startswith("server {"):
            block = []
        elif line.startswith("}") and block is not None:
            directives, location, depth, inside = [], [], 0, False
            for inner in block:
                if inner.startswith("    location / {"):
                    inside = True
                elif inside and inner.startswith("    }"):
                    inside = False
                elif inside:
                    location.append(inner)
                elif inner.startswith("    location") or inner.strip().endswith("{"):
                    depth += 1
                elif inner.startswith("    }"):
                    depth -= 1
                elif depth == 0 and re.match(r"    (?!listen |server_name )\w+ .*;$", inner):
                    directives.append(inner)
            if any("proxy_pass" in x for x in location):
                return directives, location
            block = None
        elif block is not None:
            block.append(line)
    raise RuntimeError("no server in the site proxies `location /` to the app")


def side_site(app_site: str, sides: list[tuple[Model, str, int]]) -> str:
    """Upstream and proxied server of the role's rendered site, once per side gunicorn."""
    upstream = re.search(r"^upstream (\w+) \{\n(.*?)^\}", app_site, re.M | re.S)
    if not upstream:
        raise RuntimeError("cannot find the upstream in the site")
    name, body = upstream.group(1), upstream.group(2)
    server = re.search(r"server unix:\S+", body)
    if not server:
        raise RuntimeError("the site's upstream is not a unix socket")
    directives, location = proxied_server(app_site)
    out = ["# bench-web: worker models behind our nginx (removed after the run)"]
    for model, unit, port in sides:
        up = f"{name}_bench_{model.slug.replace('-', '_')}"
        out += [
            f"upstream {up} {{",
            body.replace(server.group(0), f"server unix:/run/{unit}/gunicorn.sock").rstrip(),
            "}",
            "server {",
            f"    listen 127.0.0.1:{port};",
            *directives,
            "    location / {",
            *[x.replace(f"http://{name};", f"http://{up};") for x in location],
            "    }",
            "}",
        ]
    return "\n".join(out) + "\n"


def wrk(url: str, opts: argparse.Namespace, seconds: float, latency: bool) -> str:
    # --timeout 10s: slow answers count in the latency percentiles, not as errors.
    cmd = ["wrk", f"-t{opts.wrk_threads}", f"-c{opts.connections}", "--timeout", "10s"]
    cmd += ["-H", "Host: localhost", f"-d{seconds}s", *(["--latency"] if latency else []), url]
    if opts.wrk_cpu:
        cmd = ["taskset", "-c", opts.wrk_cpu, *cmd]
    return sh(*cmd, timeout=seconds + 30)


def gunicorn_unit(cfg: Config, app: str) -> str:
    if cfg.kind == "ours":
        return app
    if cfg.kind == "baseline":
        return UNIT_PREFIX + "baseline"
    return UNIT_PREFIX + cfg.model.slug


def restarts(unit: str, since: float, until: float) -> int:
    """Workers gunicorn recycled (max_requests) in that window: each re-imports Django."""
    out = sh(
        "journalctl",
        f"--unit={unit}.service",
        f"--since=@{since:.0f}",
        f"--until=@{until + 1:.0f}",
        "--no-pager",
        "--output=cat",
        "--grep=Autorestarting worker",
        check=False,
    )
    return len(out.splitlines())


def measure(cfg: Config, page: str, opts: argparse.Namespace) -> dict:
    url = f"http://127.0.0.1:{cfg.port}{page}"
    if opts.warmup > 0:
        wrk(url, opts, opts.warmup, latency=False)  # connections, DB connections, caches
    load = loadavg()
    started = time.time()
    res = parse(wrk(url, opts, opts.seconds, latency=True))
    res.update(config=cfg.name, kind=cfg.kind, model=cfg.model.label, page=page, load=load)
    res["restarts"] = restarts(gunicorn_unit(cfg, opts.app), started, time.time())
    return res


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?")
    parser.add_argument("--seconds", type=int, default=4, help="wrk -d per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="wrk seconds before each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--wrk-cpu", default="", help="taskset CPU list for wrk (default: none)")
    parser.add_argument("--models", default="", help="sync:N,gthread:NxT,... (default: a set)")
    parser.add_argument("--app", default="sampleapp")
    parser.add_argument("--site", default="", help="rendered nginx site (default: the app's)")
    parser.add_argument("--plan", action="store_true", help="print the plan and exit")
    opts = parser.parse_args()
    if opts.rounds < 1 or opts.seconds < 1:
        parser.error("--rounds and --seconds must be at least 1")
    if not opts.plan and not opts.out:
        parser.error("OUT.json is required")
    return opts


def app_site(opts: argparse.Namespace) -> Path:
    site = Path(opts.site) if opts.site else Path(f"/etc/nginx/sites-enabled/{opts.app}")
    if site.exists():
        return site
    sites = sorted(p for p in Path("/etc/nginx/sites-enabled").glob("*") if p != SIDE_SITE)
    if len(sites) != 1:
        raise SystemExit(f"which nginx site is the app's? {sites}; use --site")
    return sites[0]


def start_all(opts: argparse.Namespace, cfgs: list[Config], wsgi: str, units: list[str]) -> None:
    """Baseline units, one side gunicorn per model, their servers in our nginx; all answer."""
    units += start_baseline(opts.app, wsgi)
    sides = []
    for cfg in cfgs:
        if cfg.kind == "direct":
            units.append(start_side(opts.app, cfg.model, cfg.port))
            sides.append((cfg.model, units[-1]))
    nginx_ports = {c.model: c.port for c in cfgs if c.kind == "nginx"}
    SIDE_SITE.write_text(
        side_site(
            app_site(opts).read_text(encoding="utf-8"),
            [(m, u, nginx_ports[m]) for m, u in sides if m in nginx_ports],
        ),
        encoding="utf-8",
    )
    sh("nginx", "-t", "-q")
    sh("systemctl", "reload", "nginx")
    time.sleep(1)  # reload: new nginx workers take over the listeners
    for cfg in cfgs:
        wait_http(cfg.port)


def run_rounds(opts: argparse.Namespace, order: list[list[Config]]) -> tuple[list, list]:
    samples: list[dict] = []
    rounds_meta: list[dict] = []
    for r, round_cfgs in enumerate(order, 1):
        meta = {"round": r, "load_start": loadavg(), "started": time.time()}
        print(f"round {r}/{opts.rounds}: load average at start {meta['load_start']}", flush=True)
        for cfg in round_cfgs:
            for page in PAGES:
                res = measure(cfg, page, opts)
                res["round"] = r
                samples.append(res)
                print(
                    f"  {cfg.name:<58} {page:<9} {res['rps']:8.1f} req/s "
                    f"p50 {res['p50_ms']} ms p99 {res['p99_ms']} ms errors {res['errors']} "
                    f"worker restarts {res['restarts']} load {res['load']}",
                    flush=True,
                )
        meta.update(load_end=loadavg(), ended=time.time())
        print(f"round {r}/{opts.rounds}: load average at end {meta['load_end']}", flush=True)
        rounds_meta.append(meta)
    return samples, rounds_meta


def main() -> None:
    opts = options()
    app = opts.app
    conf_text = Path(f"/etc/{app}/gunicorn.conf.py").read_text(encoding="utf-8")
    ours = model_from_conf(conf_text)
    wsgi = re.search(r"^wsgi_app\s*=\s*['\"]([\w.:]+)['\"]", conf_text, re.M)
    cpus = os.cpu_count() or 1
    models = [parse_model(m) for m in opts.models.split(",") if m.strip()] or default_models(
        cpus, ours
    )
    if ours not in models:
        models.append(ours)
    cfgs = configs(models, ours, BASELINE_MODEL)
    order = rounds_order(cfgs, opts.rounds)
    estimate = estimate_s(len(cfgs), opts.rounds, opts.seconds, opts.warmup)
    print(
        f"bench-web: {len(cfgs)} configurations x {len(PAGES)} pages x {opts.rounds} rounds, "
        f"{opts.warmup}+{opts.seconds} s each: about {estimate / 60:.1f} min",
        flush=True,
    )
    if opts.plan:
        for r, cs in enumerate(order, 1):
            print(f"round {r}: " + " | ".join(c.name for c in cs))
        print(f"estimated seconds: {round(estimate)}")
        return
    if "DB_CONN_MAX_AGE" in Path(f"/etc/{app}/env").read_text(encoding="utf-8"):
        raise SystemExit("the env file sets DB_CONN_MAX_AGE: the baseline could not override it")

    units: list[str] = []
    started = time.time()
    try:
        start_all(opts, cfgs, wsgi.group(1) if wsgi else f"{app}.wsgi", units)
        samples, rounds_meta = run_rounds(opts, order)
    finally:
        for unit in reversed(units):
            sh("systemctl", "stop", f"{unit}.service", check=False)
        if SIDE_SITE.exists():
            SIDE_SITE.unlink()
            sh("systemctl", "reload", "nginx", check=False)
    meta = {
        "cpus": cpus,
        "seconds": opts.seconds,
        "warmup": opts.warmup,
        "rounds": opts.rounds,
        "connections": opts.connections,
        "wrk_threads": opts.wrk_threads,
        "wrk_cpu": opts.wrk_cpu,
        "ours_model": ours.label,
        "configs": [{"name": c.name, "kind": c.kind, "model": c.model.label} for c in cfgs],
        "rounds_meta": rounds_meta,
        "started": started,
        "wall_s": round(time.time() - started, 1),
        "estimate_s": round(estimate),
    }
    with open(opts.out, "w", encoding="utf-8") as fh:
        json.dump({"meta": meta, "samples": samples}, fh, indent=1)


if __name__ == "__main__":
    main()
