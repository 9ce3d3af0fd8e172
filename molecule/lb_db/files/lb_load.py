#!/usr/bin/env python3
"""Bounded request loop through the load balancer (runs inside the LB host).

    lb_load.py URL OUT.json STOP_FILE [--max-seconds 60] [--max-requests 20000]
               [--threads 2] [--pause 0.01]

Each thread requests URL on a new connection every time until STOP_FILE exists or the
time or request budget is spent. Writes the request count, the failures (status != 200
or no answer) and how many answers each backend gave (the body names the backend).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
import urllib.parse
from collections import Counter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("stop_file")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pause", type=float, default=0.01)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)

    lock = threading.Lock()
    state = {"requests": 0, "failures": 0}
    backends: Counter[str] = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + args.max_seconds

    def worker() -> None:
        while time.monotonic() < deadline and not os.path.exists(args.stop_file):
            with lock:
                if state["requests"] >= args.max_requests:
                    return
                state["requests"] += 1
            try:
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                conn.request("GET", url.path or "/")
                resp = conn.getresponse()
                body = resp.read().decode("utf-8", "replace").strip()
                conn.close()
                ok, detail = resp.status == 200, f"{resp.status} {body[:80]}"
            except OSError as exc:
                ok, detail, body = False, repr(exc), "-"
            with lock:
                backends[body.removeprefix("backend ") if ok else "-"] += 1
                if not ok:
                    state["failures"] += 1
                    if len(failures) < 20:
                        failures.append(detail)
            time.sleep(args.pause)

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = {
        **state,
        "seconds": round(time.monotonic() - started, 2),
        "backends": dict(backends),
        "failure_samples": failures,
    }
    with open(args.out + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
