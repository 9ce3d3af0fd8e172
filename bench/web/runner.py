#!/usr/bin/env python3
"""Benchmark the web tier on one host (runs INSIDE the host, against 127.0.0.1 only).

    runner.py OUT.json [--duration 10] [--connections 32] [--app sampleapp]

Configurations, each measured on /health/ and the DB-backed /notes/ with wrk:
- ours: nginx (port 80) -> gunicorn on the systemd socket, as the roles deploy it;
- baseline (the seed's setup): gunicorn 3 sync workers on TCP 0.0.0.0:8000, Django with
  no persistent DB connections (DB_CONN_MAX_AGE=0), nginx bare proxy_pass on port 8080;
- direct gunicorn, our config (no nginx) on 127.0.0.1:8001, in several worker models.
Every run is bounded (wrk -d, subprocess timeouts); transient units are stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wrk_parse import parse

PAGES = ["/health/", "/notes/"]
BASELINE_SITE = "/etc/nginx/conf.d/zz-bench-baseline.conf"
BASELINE_NGINX = """# bench-web: the seed's bare proxy (no upstream keepalive, HTTP/1.0 upstream)
server {
    listen 127.0.0.1:8080;
    location / {
        proxy_pass http://127.0.0.1:8000;
        proxy_set_header Host $host;
    }
}
"""


def sh(*cmd: str, timeout: float = 60, check: bool = True) -> str:
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout).stdout


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def start_gunicorn(app: str, unit: str, bind: str, args: list[str], env: dict[str, str]) -> None:
    """A gunicorn of the current release, as the service runs it but bound to TCP."""
    props = [
        f"--property=User={app}",
        f"--property=Group={app}",
        f"--property=EnvironmentFile=/etc/{app}/env",
        f"--property=EnvironmentFile=/srv/{app}/current/release.env",
        f"--property=WorkingDirectory=/srv/{app}/current",
        f"--property=RuntimeDirectory={unit}",
        *[f"--setenv={k}={v}" for k, v in env.items()],
    ]
    sh("systemctl", "stop", f"{unit}.service", check=False)
    sh(
        "systemd-run",
        f"--unit={unit}",
        "--collect",
        "--quiet",
        *props,
        f"/srv/{app}/current/venv/bin/gunicorn",
        f"--config=/etc/{app}/gunicorn.conf.py",
        f"--bind={bind}",
        f"--worker-tmp-dir=/run/{unit}",
        *args,
    )
    wait_port(int(bind.rsplit(":", 1)[1]))
    time.sleep(1.5)  # workers import Django after the master binds


def wrk(url: str, host: str, duration: int, connections: int) -> dict:
    # --timeout 10s: slow answers count in the latency percentiles, not as errors.
    common = ["-t2", f"-c{connections}", "--timeout", "10s", "-H", f"Host: {host}"]
    sh("wrk", *common, "-d2s", url, timeout=30)  # warm-up: workers, DB connections, caches
    return parse(sh("wrk", *common, f"-d{duration}s", "--latency", url, timeout=duration + 30))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--app", default="sampleapp")
    parser.add_argument("--quick", action="store_true", help="ours + baseline only (smoke)")
    opts = parser.parse_args()
    app = opts.app
    if "DB_CONN_MAX_AGE" in Path(f"/etc/{app}/env").read_text(encoding="utf-8"):
        raise SystemExit("the env file sets DB_CONN_MAX_AGE: the baseline could not override it")

    cpus = os.cpu_count() or 1
    direct = [
        ("direct gthread 3x4 (ours)", []),
        (f"direct sync {2 * cpus + 1}", ["--worker-class=sync", f"--workers={2 * cpus + 1}"]),
        ("direct gthread 2x8", ["--worker-class=gthread", "--workers=2", "--threads=8"]),
        (
            f"direct gthread {2 * cpus + 1}x2",
            ["--worker-class=gthread", f"--workers={2 * cpus + 1}", "--threads=2"],
        ),
    ]
    if opts.quick:
        direct = []
    results = []
    load_start = Path("/proc/loadavg").read_text(encoding="utf-8").split()[0]
    try:
        with open(BASELINE_SITE, "w", encoding="utf-8") as fh:
            fh.write(BASELINE_NGINX)
        sh("nginx", "-t", "-q")
        sh("systemctl", "reload", "nginx")
        start_gunicorn(
            app,
            "bench-baseline",
            "0.0.0.0:8000",
            ["--worker-class=sync", "--workers=3"],
            {"DB_CONN_MAX_AGE": "0"},
        )
        runs = [
            ("ours: nginx -> gunicorn socket", "http://127.0.0.1:80", "localhost", None),
            (
                "baseline: bare nginx -> 3 sync, no persistent DB",
                "http://127.0.0.1:8080",
                "localhost",
                None,
            ),
        ]
        runs += [(name, "http://127.0.0.1:8001", "127.0.0.1", args) for name, args in direct]
        for name, base, host, args in runs:
            if args is not None:
                start_gunicorn(app, "bench-direct", "127.0.0.1:8001", args, {})
            for page in PAGES:
                started = time.monotonic()
                res = wrk(base + page, host, opts.duration, opts.connections)
                res.update(config=name, page=page, seconds=round(time.monotonic() - started, 1))
                print(json.dumps(res), flush=True)
                results.append(res)
            if args is not None:
                sh("systemctl", "stop", "bench-direct.service", check=False)
    finally:
        sh("systemctl", "stop", "bench-direct.service", "bench-baseline.service", check=False)
        if os.path.exists(BASELINE_SITE):
            os.unlink(BASELINE_SITE)
            sh("systemctl", "reload", "nginx", check=False)
    meta = {
        "loadavg_start": load_start,
        "loadavg_end": Path("/proc/loadavg").read_text(encoding="utf-8").split()[0],
        "cpus": cpus,
        "duration_s": opts.duration,
        "connections": opts.connections,
        "threads": 2,
    }
    with open(opts.out, "w", encoding="utf-8") as fh:
        json.dump({"meta": meta, "results": results}, fh, indent=1)


if __name__ == "__main__":
    main()
