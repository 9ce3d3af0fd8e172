"""Parse `wrk --latency` output into numbers (shared by the runner and its unit test)."""

from __future__ import annotations

import re

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> dict:
    """req/s, p50/p90/p99 in ms, requests, and errors (socket errors + non-2xx/3xx)."""
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in", output, re.M)
    if not rps or not total:
        raise ValueError("wrk output has no Requests/sec or request count:\n" + output)
    pct = {int(p): to_ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M)}
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = (sum(int(x) for x in sock.groups()) if sock else 0) + (
        int(non2xx.group(1)) if non2xx else 0
    )
    result = {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": pct.get(50),
        "p90_ms": pct.get(90),
        "p99_ms": pct.get(99),
        "errors": errors,
    }
    if result["requests"] == 0:
        # Nothing answered within the run: wrk prints 0 latencies, which are not measurements.
        result.update(p50_ms=None, p90_ms=None, p99_ms=None)
    if result["p99_ms"] is None:
        result["raw"] = output[-800:]
    return result
