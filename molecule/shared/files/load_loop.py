#!/usr/bin/env python3
"""Bounded request loop for the Molecule scenarios (runs inside a scenario's host).

    load_loop.py OUT.json STOP_FILE URL [URL ...] [--host-header NAME]
                 [--tally header:X-App-Release | body:PREFIX]
                 [--max-seconds 120] [--max-requests 20000] [--threads 2] [--pause 0.03]

Each thread requests the URLs in turn, each on a new connection (keep-alive off), until
STOP_FILE exists or the time or request budget is spent. Writes to OUT.json the request
count, the failures (status != 200 or no answer, with up to 20 samples) and a tally of
who answered: a response header's value (header:NAME) or the body without PREFIX
(body:PREFIX). Started and stopped by molecule_shared.load_start/load_stop.
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


def who(resp: http.client.HTTPResponse, body: str, tally: str) -> str:
    kind, _, arg = tally.partition(":")
    if kind == "header":
        return resp.getheader(arg) or "-"
    return body.strip().removeprefix(arg).strip() or "-"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("stop_file")
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--host-header")
    parser.add_argument("--tally", default="header:X-App-Release")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=2)
    # A pause between requests keeps the loop from starving the play under test of CPU:
    # 0.03 s is ~60 requests/s from 2 threads, a request every ~16 ms.
    parser.add_argument("--pause", type=float, default=0.03)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    urls = [urllib.parse.urlsplit(u) for u in args.urls]
    headers = {"Host": args.host_header} if args.host_header else {}

    lock = threading.Lock()
    state = {"requests": 0, "failures": 0}
    tally: Counter[str] = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + args.max_seconds

    def worker() -> None:
        i = 0
        while time.monotonic() < deadline and not os.path.exists(args.stop_file):
            with lock:
                if state["requests"] >= args.max_requests:
                    return
                state["requests"] += 1
            url = urls[i % len(urls)]
            i += 1
            try:
                conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
                conn.request("GET", url.path or "/", headers=headers)
                resp = conn.getresponse()
                body = resp.read().decode("utf-8", "replace")
                conn.close()
                ok, detail = resp.status == 200, f"{url.path} {resp.status} {body[:80]}"
                answered = who(resp, body, args.tally) if ok else "-"
            except OSError as exc:
                ok, detail, answered = False, f"{url.path} {exc!r}", "-"
            with lock:
                tally[answered] += 1
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
        "tally": dict(tally),
        "failure_samples": failures,
    }
    with open(args.out + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
