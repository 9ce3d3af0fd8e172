#!/usr/bin/env python3
"""Bounded request loop for the release-switch tests (runs inside the host).

    load_loop.py OUT.json STOP_FILE [--max-seconds 120] [--max-requests 20000]
                 [--threads 2] [--pause 0.01]

Each thread requests the URLs in turn (keep-alive off: every request is a new connection
through nginx) until STOP_FILE exists, the time or the request budget is spent. Writes
counts, failures (status != 200 or no answer) and the X-App-Release values seen.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
from collections import Counter

URLS = [("127.0.0.1", 80, "/health/", "localhost"), ("127.0.0.1", 80, "/notes/", "localhost")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("stop_file")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=2)
    # A pause between requests keeps the loop from starving the deploy of CPU.
    parser.add_argument("--pause", type=float, default=0.01)
    args = parser.parse_args()

    lock = threading.Lock()
    state = {"requests": 0, "failures": 0}
    releases: Counter[str] = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + args.max_seconds

    def worker() -> None:
        i = 0
        while time.monotonic() < deadline and not os.path.exists(args.stop_file):
            with lock:
                if state["requests"] >= args.max_requests:
                    return
                state["requests"] += 1
            host, port, path, host_header = URLS[i % len(URLS)]
            i += 1
            try:
                conn = http.client.HTTPConnection(host, port, timeout=30)
                conn.request("GET", path, headers={"Host": host_header})
                resp = conn.getresponse()
                resp.read()
                conn.close()
                ok, detail = resp.status == 200, f"{path} {resp.status}"
                release = resp.getheader("X-App-Release") or "-"
            except OSError as exc:
                ok, detail, release = False, f"{path} {exc!r}", "-"
            with lock:
                releases[release] += 1
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
        "releases": dict(releases),
        "failure_samples": failures,
    }
    with open(args.out + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
