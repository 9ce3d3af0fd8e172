"""Pytest plugin shared by every Molecule scenario's testinfra tests.

- `http` fixture: HTTP requests made from *inside* the host (python3 urllib), so tests
  reach 127.0.0.1 of the container without publishing ports.
- On a failed test, the host's failed units and recent journal are printed, so the
  reason is in the log next to the assertion.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

import pytest

_HTTP_SCRIPT = r"""
import json, sys, urllib.request, urllib.error
req = json.loads(sys.argv[1])
r = urllib.request.Request(req["url"], data=req.get("data") and req["data"].encode(),
                           headers=req.get("headers", {}), method=req.get("method", "GET"))
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
opener = urllib.request.build_opener(NoRedirect)
try:
    resp = opener.open(r, timeout=req.get("timeout", 10))
    status, headers, body = resp.status, dict(resp.headers), resp.read()
except urllib.error.HTTPError as e:
    status, headers, body = e.code, dict(e.headers), e.read()
except Exception as e:
    status, headers, body = 0, {}, repr(e).encode()
print(json.dumps({"status": status, "headers": headers,
                  "body": body.decode("utf-8", "replace")}))
"""


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self):
        return json.loads(self.body)


def http_request(host, url: str, *, method: str = "GET", headers=None, data=None, timeout=10):
    """Run one HTTP request from inside `host`; status 0 means no HTTP answer."""
    payload = json.dumps(
        {"url": url, "method": method, "headers": headers or {}, "data": data, "timeout": timeout}
    )
    cmd = host.run("python3 -c %s %s", _HTTP_SCRIPT, payload)
    assert cmd.rc == 0, f"http helper failed: {cmd.stderr}"
    return Response(**json.loads(cmd.stdout))


@pytest.fixture
def http(host):
    """`http(url, ...)` -> Response, requested from inside the host under test."""

    def _get(url: str, **kwargs):
        return http_request(host, url, **kwargs)

    return _get


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    host = item.funcargs.get("host")
    if host is None:
        return
    try:
        failed = host.run("systemctl --failed --no-pager --no-legend").stdout
        journal = host.run("journalctl --no-pager -n 80 -o short-precise").stdout
    except Exception as exc:  # the host may be gone; the assertion is what matters
        report.sections.append(("journal", f"could not read the journal: {exc}"))
        return
    report.sections.append(("failed units", failed or "(none)"))
    report.sections.append(("journalctl -n 80", journal))


def unit_property(host, unit: str, prop: str) -> str:
    """One systemd property of `unit` on the host (`systemctl show -p PROP --value`)."""
    return host.check_output(f"systemctl show -p {prop} --value {unit}")


def exposure_score(host, unit: str) -> tuple[float, str]:
    """`systemd-analyze security` overall exposure of `unit` (0 best, 10 worst) and its line."""
    out = host.check_output(f"systemd-analyze security {unit} --no-pager | tail -n 1")
    match = re.search(r"exposure level.*?:\s*([0-9.]+)", out)
    assert match, f"no exposure level in: {out}"
    return float(match.group(1)), out


LOAD_LOOP = "/usr/local/bin/load_loop.py"  # molecule/shared/files/load_loop.py, copied by prepare


def load_start(host, name: str, urls: list[str], *options: str) -> tuple[str, str]:
    """Start the bounded load loop on the host as a transient unit; (out, stop) files."""
    out, stop = f"/var/lib/{name}.json", f"/var/lib/{name}.stop"  # root-only on the host
    host.run(f"rm -f {out} {stop}")
    host.run_expect(
        [0],
        f"systemd-run --unit={name}-$(date +%s%N) --collect --quiet "
        f"/usr/bin/python3 {LOAD_LOOP} {out} {stop} {' '.join(urls)} {' '.join(options)}",
    )
    return out, stop


def load_stop(host, out: str, stop: str, timeout: float = 60) -> dict:
    """Stop the load loop and return its report (requests, failures, tally, samples)."""
    host.run(f"touch {stop}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.file(out).exists:
            return json.loads(host.file(out).content_string)
        time.sleep(0.5)
    pytest.fail(f"the load loop did not report within {timeout:.0f} s")
