"""Prometheus' HTTP API on the monitoring host, behind the scenario's basic auth.

The scenario turns basic auth on (vars/monitoring.yml); tests query with the credentials
Grafana's datasource uses, so every passing query also proves those credentials work.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

PROM = "http://127.0.0.1:9090"
API = f"{PROM}/api/v1"
# Obviously fake test credentials, as in vars/monitoring.yml (only the bcrypt hash is on the host).
DATASOURCE_USER = "grafana"
DATASOURCE_PASSWORD = "molecule-fake-datasource-password"  # noqa: S105 - fake test credential
SELF_SCRAPE_PASSWORD = "molecule-fake-self-scrape-password"  # noqa: S105 - fake test credential


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


AUTH = basic_auth(DATASOURCE_USER, DATASOURCE_PASSWORD)


def api(http, path: str, **params):
    """GET /api/v1/<path> with the datasource's credentials; the answer's `data`."""
    resp = http(f"{API}/{path}" + (f"?{urlencode(params)}" if params else ""), headers=AUTH)
    assert resp.status == 200, resp.body
    return resp.json()["data"]


def query(http, expr: str) -> dict:
    """POST an instant query; the decoded answer (status error on a non-JSON reply)."""
    resp = http(
        f"{API}/query",
        method="POST",
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
        data=urlencode({"query": expr}),
    )
    try:
        return resp.json()
    except json.JSONDecodeError:
        return {"status": "error", "error": f"HTTP {resp.status}: {resp.body[:200]}"}
