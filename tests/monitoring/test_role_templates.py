"""Role templates rendered on the controller and judged by the tools that read them.

- prometheus, TLS + basic auth: web.yml passes `promtool check web-config`, and the
  controller's Prometheus serves HTTPS with it on 127.0.0.1 (401 without credentials,
  200 with) while its own self-scrape (https, basic auth from the password file, as the
  role's prometheus.yml configures it) is up.
- grafana, APT source and pin (the scenario cannot install Grafana): the deb822 source
  has the fields and Signed-By, and apt itself reads it; the pin has the version and
  priority 1001, and apt applies that pin format.
- grafana, the datasource URL and basic auth follow the prometheus role's variables.

One ansible-playbook run renders every case (one inventory host each, one play per role).
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import prometheus_server
import pytest
import yaml
from promql import REPO, ROLES

PLAYBOOK = Path(__file__).resolve().parent / "playbooks/render_templates.yml"
PROMTOOL = REPO / "scripts/promtool.sh"
# Obviously fake test credentials; HASH is bcrypt of SELF_PASSWORD (Python's crypt, $2b$, cost 10).
SELF_PASSWORD = "molecule-fake-self-scrape-password"  # noqa: S105
HASH = "$2b$10$8uZRYuyBuiUJJgrn.0VX/uhx/EtQbUbBBsiNp4djKe.onKaRno/LS"
GRAFANA = {"render_role": "grafana", "grafana_admin_password": "molecule-fake-grafana-password"}


def grafana_case(out: Path, **extra) -> dict:
    return {
        **GRAFANA,
        "render_templates": [
            {"src": str(ROLES / "grafana/templates" / n), "dest": str(out / n.removesuffix(".j2"))}
            for n in ("grafana.sources.j2", "grafana.pref.j2", "datasource.yml.j2")
        ],
        **extra,
    }  # fmt: skip


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "prometheus.crt", tmp / "prometheus.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, tls_files) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("render")
    cert, key = tls_files
    port = prometheus_server.free_port()
    names = ("tls", "apt", "apt-prometheus", "ds-default", "ds-wildcard", "ds-tls", "ds-ipv6")
    out = {name: base / name for name in (*names, "ds-auth")}
    for path in out.values():
        path.mkdir()
    candidate = next(
        line.split(":", 1)[1].strip()
        for line in subprocess.run(["apt-cache", "policy", "prometheus"], capture_output=True,
                                   text=True, check=True, timeout=60).stdout.splitlines()
        if line.strip().startswith("Candidate:")
    )  # fmt: skip
    templates = ROLES / "prometheus/templates"
    tls = out["tls"]
    hosts = {
        "tls": {
            "render_role": "prometheus",
            "prometheus_config_dir": str(out["tls"]),
            "prometheus_web_listen_address": f"127.0.0.1:{port}",
            "prometheus_scrape_interval": "1s",
            "prometheus_scrape_timeout": "1s",
            "prometheus_web_tls_cert_file": str(cert),
            "prometheus_web_tls_key_file": str(key),
            "prometheus_web_basic_auth_users": {"prometheus": HASH},
            "prometheus_web_self_scrape_password": SELF_PASSWORD,
            "render_templates": [
                {"src": str(templates / "web.yml.j2"), "dest": str(tls / "web.yml")},
                {"src": str(templates / "prometheus.yml.j2"), "dest": str(tls / "prometheus.yml")},
            ],
        },
        # A valid extra dashboard passes the preflight.
        "apt": grafana_case(out["apt"], grafana_version="11.2.0", grafana_dashboards_extra_files=[
            str(ROLES / "grafana/files/dashboards/fleet.json")]),
        # The same pin template for a package this controller's apt knows, at its candidate.
        "apt-prometheus": grafana_case(
            out["apt-prometheus"], grafana_package_name="prometheus", grafana_version=candidate
        ),
        "ds-default": grafana_case(out["ds-default"]),
        "ds-wildcard": grafana_case(
            out["ds-wildcard"], prometheus_web_listen_address="0.0.0.0:9095"
        ),
        "ds-tls": grafana_case(
            out["ds-tls"],
            prometheus_web_listen_address="10.0.3.7:9090",
            prometheus_web_tls_cert_file="/etc/prometheus/tls.crt",
        ),
        "ds-ipv6": grafana_case(out["ds-ipv6"], prometheus_web_listen_address="[::]:9090"),
        "ds-auth": grafana_case(
            out["ds-auth"], prometheus_web_basic_auth_users={"prometheus": HASH},
            prometheus_web_self_scrape_password=SELF_PASSWORD,
        ),
    }  # fmt: skip
    for host in hosts.values():
        host.update({"ansible_connection": "local", "ansible_python_interpreter": sys.executable})
    inventory = base / "inventory.yml"
    groups = {"render_prometheus": {"hosts": {}}, "render_grafana": {"hosts": {}}}
    for name, host in hosts.items():
        groups[f"render_{host.pop('render_role')}"]["hosts"][name] = host
    inventory.write_text(yaml.safe_dump({"all": {"children": groups}}))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
         "--forks", "8", str(PLAYBOOK)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
             "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections")},
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert SELF_PASSWORD not in proc.stdout + proc.stderr
    (out["tls"] / "self_scrape_password").write_text(SELF_PASSWORD)  # what configure.yml writes
    out["candidate"] = candidate
    out["port"] = port
    return out


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROMTOOL), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_tls_web_config_passes_promtool(rendered, tls_files):
    web = rendered["tls"] / "web.yml"
    doc = yaml.safe_load(web.read_text())
    assert doc["tls_server_config"] == {
        "cert_file": str(tls_files[0]), "key_file": str(tls_files[1]), "min_version": "TLS12",
    }  # fmt: skip
    assert doc["basic_auth_users"] == {"prometheus": HASH}
    proc = promtool("check", "web-config", str(web))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The check is not a rubber stamp: a plain password where a hash belongs fails it.
    bad = rendered["tls"] / "bad-web.yml"
    bad.write_text(web.read_text().replace(HASH, SELF_PASSWORD))
    assert promtool("check", "web-config", str(bad)).returncode != 0


def test_prometheus_serves_tls_with_basic_auth_and_scrapes_itself(rendered, tls_files, tmp_path):
    conf = rendered["tls"]
    url = f"https://127.0.0.1:{rendered['port']}"
    context = ssl.create_default_context(cafile=str(tls_files[0]))
    auth = {
        "Authorization": "Basic "
        + base64.b64encode(f"prometheus:{SELF_PASSWORD}".encode()).decode()
    }

    def status(path: str, headers: dict | None = None) -> int:
        request = urllib.request.Request(url + path, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as resp:  # noqa: S310
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code
        except urllib.error.URLError:
            return 0  # not listening yet

    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(prometheus_server.binary()), f"--config.file={conf / 'prometheus.yml'}",
             f"--web.config.file={conf / 'web.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{rendered['port']}"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while status("/-/ready", auth) != 200:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        assert status("/api/v1/targets") == 401
        while True:
            request = urllib.request.Request(url + "/api/v1/targets", headers=auth)  # noqa: S310
            with urllib.request.urlopen(request, timeout=5, context=context) as resp:  # noqa: S310
                active = json.load(resp)["data"]["activeTargets"]
            if [t["health"] for t in active] == ["up"]:
                (target,) = active
                break
            assert time.monotonic() < deadline, active
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert target["scrapeUrl"] == f"{url}/metrics"


def fields(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split(": ", 1) for line in lines)


def test_grafana_apt_source_is_deb822_signed_by_the_key(rendered, tmp_path):
    source = rendered["apt"] / "grafana.sources"
    assert fields(source) == {
        "Types": "deb",
        "URIs": "https://apt.grafana.com",
        "Suites": "stable",
        "Components": "main",
        "Signed-By": "/etc/apt/keyrings/grafana.asc",
    }
    # apt reads it (offline: --print-uris only lists what it would fetch).
    lists = tmp_path / "lists"
    (lists / "partial").mkdir(parents=True)
    proc = subprocess.run(
        ["apt-get", "-o", "Dir::Etc::SourceList=/dev/null",
         "-o", f"Dir::Etc::SourceParts={rendered['apt']}", "-o", f"Dir::State::Lists={lists}",
         "-o", f"Dir::Cache={tmp_path}", "--print-uris", "update"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "'https://apt.grafana.com/dists/stable/InRelease'" in proc.stdout


def test_grafana_pin_holds_the_version_and_apt_applies_it(rendered, tmp_path):
    assert fields(rendered["apt"] / "grafana.pref") == {
        "Package": "grafana",
        "Pin": "version 11.2.0",
        "Pin-Priority": "1001",
    }
    (tmp_path / "parts").mkdir()
    proc = subprocess.run(
        ["apt-cache", "-o", f"Dir::Etc::Preferences={rendered['apt-prometheus'] / 'grafana.pref'}",
         "-o", f"Dir::Etc::PreferencesParts={tmp_path / 'parts'}", "policy", "prometheus"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    table = proc.stdout.split("Version table:", 1)[1]
    assert f"{rendered['candidate']} 1001" in table, proc.stdout


@pytest.mark.parametrize(
    ("case", "url"),
    [
        ("ds-default", "http://127.0.0.1:9090"),
        ("ds-wildcard", "http://127.0.0.1:9095"),
        ("ds-tls", "https://10.0.3.7:9090"),
        ("ds-ipv6", "http://127.0.0.1:9090"),
    ],
)
def test_grafana_datasource_url_follows_prometheus(rendered, case, url):
    (ds,) = yaml.safe_load((rendered[case] / "datasource.yml").read_text())["datasources"]
    assert ds["url"] == url
    assert "basicAuth" not in ds


def test_grafana_datasource_basic_auth_follows_prometheus(rendered):
    (ds,) = yaml.safe_load((rendered["ds-auth"] / "datasource.yml").read_text())["datasources"]
    assert ds["basicAuth"] is True
    assert ds["basicAuthUser"] == "prometheus"
    assert ds["secureJsonData"]["basicAuthPassword"] == SELF_PASSWORD
