"""Unit tests of the bench-web plan (models, configurations, rotation) and the report."""

from __future__ import annotations

import pytest
from plan import Model, configs, default_models, model_from_conf, parse_model, rounds_order
from report import render, spread
from runner import side_site

CONF = """wsgi_app = "sampleapp.wsgi:application"
worker_class = "gthread"
workers = 3
threads = 4
timeout = 30
"""

SITE = """upstream sampleapp_app {
    # systemd holds this socket across gunicorn restarts; never mark it down.
    server unix:/run/sampleapp/gunicorn.sock max_fails=0;
    keepalive 32;
}

server {
    listen 80 default_server;
    location / {
        return 444;
    }
}

server {
    listen 80;
    server_name localhost;
    access_log /var/log/nginx/access.log timed;

    location / {
        proxy_pass http://sampleapp_app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }

    location /static/ {
        alias /srv/sampleapp/static/;
    }
}
"""


def test_models_and_labels():
    ours = model_from_conf(CONF)
    assert ours == Model("gthread", 3, 4)
    assert ours.label == "gthread 3x4"
    assert model_from_conf('worker_class = "sync"\nworkers = 5\n').label == "sync 5"
    assert parse_model("gthread:5x2") == Model("gthread", 5, 2)
    assert parse_model("sync:3").gunicorn_args() == ["--worker-class=sync", "--workers=3"]
    with pytest.raises(ValueError):
        parse_model("sync:3x2")


def test_configs_label_from_the_real_model():
    ours = Model("gthread", 2, 8)
    cfgs = configs(default_models(2, ours), ours, Model("sync", 3))
    names = [c.name for c in cfgs]
    assert names[0] == "ours: nginx -> gthread 2x8 (systemd socket)"
    assert "direct gthread 2x8 (role default)" in names
    # ours is the real nginx path for the default model: no side nginx for it
    assert "nginx -> gthread 2x8" not in names
    assert "nginx -> sync 5" in names
    assert len({c.port for c in cfgs}) == len(cfgs)


def test_rotation_puts_every_config_early_and_late():
    order = rounds_order(list(range(9)), 3)
    assert order[0][0] == 0 and order[1][0] == 3 and order[2][0] == 6
    assert all(sorted(r) == list(range(9)) for r in order)


def test_side_site_copies_upstream_and_location():
    out = side_site(SITE, [(Model("sync", 5), "bench-web-sync-5", 8201)])
    assert "upstream sampleapp_app_bench_sync_5 {" in out
    assert "server unix:/run/bench-web-sync-5/gunicorn.sock max_fails=0;" in out
    assert "keepalive 32;" in out
    assert "listen 127.0.0.1:8201;" in out
    assert "proxy_pass http://sampleapp_app_bench_sync_5;" in out
    assert "    access_log /var/log/nginx/access.log timed;" in out
    assert "return 444" not in out and "alias" not in out and "server_name" not in out


def _sample(cfg, page, rnd, rps, p99):
    return {
        "config": cfg["name"],
        "kind": cfg["kind"],
        "model": cfg["model"],
        "page": page,
        "round": rnd,
        "rps": rps,
        "p50_ms": p99 / 4,
        "p90_ms": p99 / 2,
        "p99_ms": p99,
        "errors": 0,
        "requests": int(rps * 5),
        "load": "1.0 1.0 1.0",
    }


def test_report_medians_and_targets():
    cfgs = [
        {"name": "ours", "kind": "ours", "model": "gthread 3x4"},
        {"name": "base", "kind": "baseline", "model": "sync 3"},
        {"name": "d34", "kind": "direct", "model": "gthread 3x4"},
        {"name": "d5", "kind": "direct", "model": "sync 5"},
        {"name": "n5", "kind": "nginx", "model": "sync 5"},
    ]
    values = {"ours": (180, 100), "base": (25, 1000), "d34": (170, 120), "d5": (190, 300)}
    values["n5"] = (185, 200)
    samples = []
    for rnd, noise in enumerate((1.0, 0.9, 1.1), 1):
        for c in cfgs:
            rps, p99 = values[c["name"]]
            for page in ("/health/", "/notes/"):
                samples.append(_sample(c, page, rnd, rps * noise, p99))
    meta = {
        "cpus": 2,
        "seconds": 5,
        "warmup": 1,
        "rounds": 3,
        "connections": 32,
        "wrk_threads": 1,
        "ours_model": "gthread 3x4",
        "configs": cfgs,
        "rounds_meta": [
            {"round": r, "load_start": "1.0 1.0 1.0", "load_end": "2.0 1.0 1.0"} for r in (1, 2, 3)
        ],
        "started": 0,
        "wall_s": 120,
    }
    out = render({"meta": meta, "samples": samples})
    assert "| ours | `/notes/` | 180.0 (162.0-198.0) |" in out
    assert "| 0 | 0 | 7.20x | 0.10x |" in out
    assert "round 1 1.0 1.0 1.0 -> 2.0 1.0 1.0" in out
    assert "ours vs baseline: median of per-round ratios 7.20x req/s (target >= 6x: met)" in out
    assert "p99 0.10x (target <= 0.25x: met)" in out
    assert "best direct gunicorn (d5)" in out
    assert "0.95x req/s (target >= 0.9x: met)" in out
    assert "| sync 5 | `/notes/` | 190.0 | 300.0 | 185.0 | 200.0 |" in out
    assert "per round (req/s / p99): 7.20x / 0.10x, 7.20x / 0.10x, 7.20x / 0.10x" in out
    assert "highest median req/s: n5" in out and "lowest median p99: ours" in out


def test_spread_marks_runs_without_answers():
    assert spread([10.0, None, 30.0]) == "20.0 (10.0-30.0) [1 run(s) without answers]"
    assert spread([None]) == "n/a [1 run(s) without answers]"
