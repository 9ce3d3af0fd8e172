#!/usr/bin/env python3
"""How fast this machine runs the suite's kind of work, as a factor against the reference machine.

`make test` spends its time starting Python processes that import Ansible and boto3, and in
Python code itself, on both cores at once. This runs a fixed sample of that work (WORKERS
processes at once, each starting ROUNDS interpreters that import what the playbooks' modules
import and then compute) and divides its wall time by REFERENCE_SECONDS, what the sample took
on the machine the budgets were measured on. `make test` multiplies the per-target budgets by
the factor (never below 1, at most MAX_FACTOR): a machine 1.5 times slower than the reference
is slower in every target, and a target that grew is still caught against the others.

    machine_speed.py            print the factor (e.g. 1.32), the sample's seconds on stderr
    machine_speed.py --seconds  print the sample's wall seconds (to set REFERENCE_SECONDS)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# Seconds the sample took on the reference machine (2 cores, nothing else running), the best
# of three; set it again with --seconds when the budgets are measured again (docs/testing.md).
REFERENCE_SECONDS = 3.8
MAX_FACTOR = 2.5
WORKERS = 2
ROUNDS = 4
SAMPLE = (
    "import ansible.executor.task_executor, ansible.template, boto3, botocore.session, yaml\n"
    "botocore.session.get_session().get_service_model('ec2')\n"
    "sum(i * i for i in range(3_000_000))\n"
)


def one_worker() -> None:
    for _ in range(ROUNDS):
        subprocess.run([sys.executable, "-c", SAMPLE], check=True)


def sample_seconds() -> float:
    start = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        for future in [pool.submit(one_worker) for _ in range(WORKERS)]:
            future.result()
    return time.monotonic() - start


def factor(seconds: float, reference: float = REFERENCE_SECONDS) -> float:
    """seconds / reference, rounded to 2 places, within [1, MAX_FACTOR]."""
    return round(min(MAX_FACTOR, max(1.0, seconds / reference)), 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", action="store_true", help="print the sample's wall seconds")
    args = parser.parse_args(argv)
    seconds = sample_seconds()
    if args.seconds:
        print(f"{seconds:.2f}")
        return 0
    print(f"sample: {seconds:.2f}s (reference {REFERENCE_SECONDS:g}s)", file=sys.stderr)
    print(f"{factor(seconds):g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
