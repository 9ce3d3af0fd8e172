"""signal-ready.sh for real, in a container of the project's base image (no network).

A fake /ready/ on 127.0.0.1 inside the container answers 503 a few times then 200, or
503 for ever; a stub cfn-signal records its arguments. Both outcomes must be signalled,
and the deadline must hold.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from cfnlib import SIGNAL_SCRIPT

pytestmark = pytest.mark.docker

# The bare host of the image chain (scripts/images.sh): what an instance boots from.
IMAGE = f"devops-django/debian{os.environ.get('DEBIAN_RELEASE', '12')}-base:latest"
DEADLINE_SECONDS = 4

FAKE_READY = """
import http.server, sys
failures = int(sys.argv[1])  # 503 answers before the first 200; -1 = never ready
seen = 0
class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global seen
        seen += 1
        ok = failures >= 0 and seen > failures and self.path == "/ready/"
        self.send_response(200 if ok else 503)
        self.end_headers()
        with open("/tmp/ready.log", "a") as log:
            log.write(f"{200 if ok else 503}\\n")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", 8080), Ready).serve_forever()
"""

STUB_SIGNAL = '#!/bin/sh\necho "$*" >> /tmp/cfn-signal.calls\n'

RUN = """
set -u
printf '%s' "$FAKE_READY" > /tmp/fake_ready.py
printf '%s' "$STUB_SIGNAL" > /usr/local/bin/cfn-signal && chmod 0755 /usr/local/bin/cfn-signal
python3 /tmp/fake_ready.py "$FAILURES" &
sleep 1
start=$(date +%s)
sh /signal-ready.sh; rc=$?
echo "elapsed=$(( $(date +%s) - start )) rc=$rc"
echo "ready-log: $(tr '\\n' ' ' < /tmp/ready.log)"
echo "calls: $(cat /tmp/cfn-signal.calls)"
"""


def _docker_ok() -> bool:
    try:
        subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def _run(failures: int, deadline: int = DEADLINE_SECONDS) -> dict[str, str]:
    if not _docker_ok():
        pytest.fail(f"docker or the image {IMAGE} is missing: run `make setup`")
    began = time.monotonic()
    env = {
        "FAILURES": str(failures),
        "FAKE_READY": FAKE_READY,
        "STUB_SIGNAL": STUB_SIGNAL,
        "READY_URL": "http://127.0.0.1:8080/ready/",
        "READY_DEADLINE_SECONDS": str(deadline),
        "READY_POLL_SECONDS": "1",
        "CFN_STACK": "demo-dev-compute",
        "CFN_RESOURCE": "AutoScalingGroup",
        "CFN_REGION": "eu-west-1",
    }
    env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    mount = f"{SIGNAL_SCRIPT}:/signal-ready.sh:ro"
    proc = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            mount,
            *env_args,
            IMAGE,
            "sh",
            "-c",
            RUN,
        ],
        capture_output=True,
        text=True,
        timeout=deadline + 60,
        check=False,
    )
    wall = time.monotonic() - began
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    out.update(dict(kv.split("=") for kv in proc.stdout.splitlines()[0].split()))
    out["wall"] = str(wall)
    out["stderr"] = proc.stderr
    return out


def test_signals_success_once_ready_answers_200():
    # A deadline far beyond the three polls it needs: on a busy machine they take longer than 4 s.
    out = _run(failures=2, deadline=60)
    assert out["ready-log"].split() == ["503", "503", "200"], out
    assert out["calls"].startswith("-e 0 "), out
    assert "--stack demo-dev-compute --resource AutoScalingGroup --region eu-west-1" in out["calls"]
    assert out["rc"] == "0"


def test_signals_failure_at_the_deadline_when_never_ready():
    out = _run(failures=-1)
    assert out["calls"].startswith("-e 1 "), out
    assert out["calls"].count("-e ") == 1, "exactly one signal"
    assert set(out["ready-log"].split()) == {"503"}
    assert DEADLINE_SECONDS <= int(out["elapsed"]) <= DEADLINE_SECONDS + 3, out
    assert out["rc"] != "0"
