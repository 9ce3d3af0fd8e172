"""Unit test of the wrk output parser the benchmark relies on."""

from __future__ import annotations

import pytest
from wrk_parse import parse, to_ms

SAMPLE = """Running 10s test @ http://127.0.0.1/notes/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.10ms    3.20ms  80.00ms   90.00%
    Req/Sec     1.33k   120.00     1.60k    70.00%
  Latency Distribution
     50%   11.50ms
     75%   13.00ms
     90%   15.00ms
     99%    1.20s
  26512 requests in 10.01s, 41.20MB read
  Socket errors: connect 1, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:   2648.35
Transfer/sec:      4.12MB
"""


def test_parse_numbers_and_units():
    res = parse(SAMPLE)
    assert res["rps"] == pytest.approx(2648.35)
    assert res["requests"] == 26512
    assert res["p50_ms"] == pytest.approx(11.5)
    assert res["p99_ms"] == pytest.approx(1200.0)
    assert res["errors"] == 10


def test_clean_run_has_no_errors():
    clean = SAMPLE.replace("  Socket errors: connect 1, read 2, write 0, timeout 3\n", "").replace(
        "  Non-2xx or 3xx responses: 4\n", ""
    )
    assert parse(clean)["errors"] == 0


def test_units():
    assert to_ms("850.00us") == pytest.approx(0.85)
    assert to_ms("2.00s") == pytest.approx(2000.0)
    with pytest.raises(ValueError):
        to_ms("12 ms")


def test_garbage_is_rejected():
    with pytest.raises(ValueError):
        parse("wrk: connection refused")


def test_no_answer_has_no_latency():
    res = parse(SAMPLE.replace("26512 requests in", "0 requests in"))
    assert res["requests"] == 0
    assert res["p99_ms"] is None and res["p50_ms"] is None
