"""What bench-web measures, in which order, and how long it takes (no I/O: unit-tested).

Shared by runner.py (inside the host) and by `make bench-web` (the up-front estimate).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

PAGES = ("/health/", "/notes/")
# Per measurement, besides wrk's own -d: process start, HTTP connect, parse (measured ~0.2 s).
OVERHEAD_S = 0.3
# Starting the side gunicorns and nginx, checking them, stopping them at the end.
SETUP_S = 25


@dataclass(frozen=True)
class Model:
    """A gunicorn worker model: class, worker count, threads (1 for sync)."""

    worker_class: str
    workers: int
    threads: int = 1

    @property
    def label(self) -> str:
        if self.worker_class == "gthread":
            return f"gthread {self.workers}x{self.threads}"
        return f"{self.worker_class} {self.workers}"

    @property
    def slug(self) -> str:
        return self.label.replace(" ", "-")

    def gunicorn_args(self) -> list[str]:
        args = [f"--worker-class={self.worker_class}", f"--workers={self.workers}"]
        if self.worker_class == "gthread":
            args.append(f"--threads={self.threads}")
        return args


@dataclass(frozen=True)
class Config:
    """One thing wrk measures: a name for the table, a kind, the model behind it, a port."""

    name: str
    kind: str  # ours | baseline | direct | nginx
    model: Model
    port: int


def parse_model(text: str) -> Model:
    """`sync:5`, `gthread:3x4` (workers x threads)."""
    match = re.fullmatch(r"(sync|gthread):(\d+)(?:x(\d+))?", text.strip())
    if not match:
        raise ValueError(f"not a worker model (sync:N or gthread:NxT): {text!r}")
    cls, workers, threads = match.group(1), int(match.group(2)), match.group(3)
    if cls == "sync":
        if threads:
            raise ValueError(f"sync workers have no threads: {text!r}")
        return Model("sync", workers)
    return Model("gthread", workers, int(threads or 1))


def model_from_conf(text: str) -> Model:
    """The model a rendered gunicorn.conf.py runs (worker_class, workers, threads)."""

    def value(key: str) -> str | None:
        match = re.search(rf"^{key}\s*=\s*['\"]?([\w.]+)['\"]?\s*$", text, re.M)
        return match.group(1) if match else None

    cls, workers = value("worker_class") or "sync", value("workers")
    if workers is None:
        raise ValueError("gunicorn.conf.py sets no `workers`")
    threads = int(value("threads") or 1) if cls == "gthread" else 1
    return Model(cls, int(workers), threads)


def default_models(cpus: int, ours: Model) -> list[Model]:
    """sync 2n+1 (gunicorn's classic advice), gthread (n+1)x2, (n+1)x4, (2n+1)x2, and ours."""
    models = [
        Model("sync", 2 * cpus + 1),
        Model("gthread", cpus + 1, 2),
        Model("gthread", cpus + 1, 4),
        Model("gthread", 2 * cpus + 1, 2),
    ]
    if ours not in models:
        models.append(ours)
    return models


def configs(models: list[Model], ours: Model, baseline: Model) -> list[Config]:
    """ours, baseline, then each model direct (TCP) and behind our nginx (ours: the real one)."""
    result = [
        Config(f"ours: nginx -> {ours.label} (systemd socket)", "ours", ours, 80),
        Config(
            f"baseline: bare nginx -> {baseline.label}, no persistent DB",
            "baseline",
            baseline,
            8080,
        ),
    ]
    for i, model in enumerate(dict.fromkeys(models)):
        default = " (role default)" if model == ours else ""
        result.append(Config(f"direct {model.label}{default}", "direct", model, 8101 + i))
        if model != ours:
            result.append(Config(f"nginx -> {model.label}", "nginx", model, 8201 + i))
    return result


def rounds_order(items: list, rounds: int) -> list[list]:
    """Each round the same items, rotated by len/rounds: every item runs early, mid and late."""
    n = len(items)
    return [items[(r * n) // rounds :] + items[: (r * n) // rounds] for r in range(rounds)]


def estimate_s(n_configs: int, rounds: int, seconds: float, warmup: float) -> float:
    return SETUP_S + rounds * n_configs * len(PAGES) * (seconds + warmup + 2 * OVERHEAD_S)


def main() -> None:
    """`python3 plan.py SECONDS WARMUP ROUNDS`: the estimate `make bench-web` prints first."""
    seconds, warmup, rounds = (float(x) for x in sys.argv[1:4])
    cpus = os.cpu_count() or 1
    # Assumes the role default (gthread, vCPUs + 1 workers x 4 threads); the host prints the
    # exact plan before it starts.
    ours = Model("gthread", cpus + 1, 4)
    n = len(configs(default_models(cpus, ours), ours, Model("sync", 3)))
    total = estimate_s(n, int(rounds), seconds, warmup)
    print(
        f"bench-web: {n} configurations x {len(PAGES)} pages x {int(rounds)} rounds of "
        f"{warmup:g}+{seconds:g} s: about {total / 60:.1f} min of measurements after the converge"
    )


if __name__ == "__main__":
    main()
