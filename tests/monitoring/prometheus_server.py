"""The Prometheus server binary on the controller, for tests that run a real Prometheus.

`command -v prometheus` when installed; else the binary of Debian's `prometheus` package,
fetched once with `apt-get download` (as scripts/promtool.sh does for promtool) into
.cache/tools/prometheus-server. Only started on 127.0.0.1 with a temporary data dir.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHED = REPO / ".cache/tools/prometheus-server/usr/bin/prometheus"


def binary() -> Path:
    found = shutil.which("prometheus")
    if found:
        return Path(found)
    if not CACHED.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp).chmod(0o777)  # _apt downloads into it
            subprocess.run(["apt-get", "download", "-q", "prometheus"], cwd=tmp, check=True,
                           capture_output=True, timeout=300)  # fmt: skip
            (deb,) = Path(tmp).glob("prometheus_*.deb")
            subprocess.run(["dpkg-deb", "-x", str(deb), f"{tmp}/x"], check=True, timeout=120)
            CACHED.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f"{tmp}/x/usr/bin/prometheus", CACHED)
    return CACHED


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2):  # noqa: S310 - 127.0.0.1
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"prometheus not ready within {timeout}s:\n{log.read_text()[-3000:]}")
