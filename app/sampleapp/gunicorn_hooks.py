"""Hooks for gunicorn.conf.py when metrics are shared between workers.

from sampleapp.gunicorn_hooks import child_exit, on_starting  # in gunicorn.conf.py
"""

from __future__ import annotations

import os
from pathlib import Path


def _multiproc_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def on_starting(server) -> None:
    """Drop samples a previous gunicorn left behind, so counters restart with the master."""
    path = _multiproc_dir()
    if path is None:
        return
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """A worker exited: mark it dead so its live gauges stop counting."""
    if _multiproc_dir() is None:
        return
    from prometheus_client import multiprocess  # noqa: PLC0415 - only needed in multiprocess mode

    multiprocess.mark_process_dead(worker.pid)
