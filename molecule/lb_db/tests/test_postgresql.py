"""The postgresql role: the RDS stand-in, as its clients and its operator see it.

converge.yml: listen on the private address only, port 5433, max_connections 40, one
allowed client (lb_db-app1/32); lb_db-app2 is a client outside the allowed networks.
The credentials come from a fake secret shaped like the rds role's (molecule.yml).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import testinfra
from molecule_shared import unit_property

testinfra_hosts = ["lb_db-db"]

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SCENARIO = PROJECT / "molecule/lb_db"
UNIT = "postgresql@15-main"
CONF = "/etc/postgresql/15/main"
PORT, USER, DB = 5433, "app_admin", "app"
PASSWORD = "molecule-fake-db-password"  # noqa: S105  # obviously fake, from molecule.yml


def other(name: str):
    return testinfra.get_host(
        f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"]
    )


def host_ip(host) -> str:
    return host.check_output(
        "ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -n1"
    )


def sql(host, query: str) -> str:
    """A query as the postgres superuser over the Unix socket (peer auth)."""
    return host.check_output("runuser -u postgres -- psql -p %s -XAtc %s", str(PORT), query)


def client_login(client, db_host: str, password: str | None):
    """psql from `client` over TCP; -w: never prompt, fail when no password is given."""
    env = f"PGPASSWORD={password} " if password is not None else ""
    return client.run(
        f"{env}psql -w -XAt 'host={db_host} port={PORT} dbname={DB} user={USER}' "
        "-c 'SELECT current_user, current_database(), inet_client_addr()'"
    )


# --- service and files -------------------------------------------------------------


def test_unit_enabled_active_and_server_runs_as_postgres(host):
    svc = host.service(UNIT)
    assert svc.is_enabled
    assert svc.is_running
    assert unit_property(host, UNIT, "ActiveState") == "active"
    assert set(host.check_output("ps -o user= -C postgres").split()) == {"postgres"}


def test_listens_on_the_configured_address_and_port_only(host):
    ip = host_ip(host)
    assert host.socket(f"tcp://{ip}:{PORT}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{PORT}").is_listening
    assert not host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
    assert not host.socket("tcp://5432").is_listening, "not on the default port"
    assert sql(host, "SHOW listen_addresses") == ip


def test_settings_from_the_variables_are_live(host):
    assert sql(host, "SHOW max_connections") == "40"
    assert sql(host, "SHOW password_encryption") == "scram-sha-256"
    assert sql(host, "SHOW log_min_duration_statement") == "1s"
    assert sql(host, "SHOW log_line_prefix") == "%m [%p] %q%u@%d "


def test_config_files_owner_and_mode(host):
    settings = host.file(f"{CONF}/conf.d/90-devops.conf")
    assert (settings.user, settings.group, settings.mode) == ("postgres", "postgres", 0o644)
    hba = host.file(f"{CONF}/pg_hba.conf")
    assert (hba.user, hba.group, hba.mode) == ("postgres", "postgres", 0o640)


def test_pg_hba_allows_only_the_configured_networks_with_scram(host):
    app1, app2 = host_ip(other("lb_db-app1")), host_ip(other("lb_db-app2"))
    rules = sql(
        host,
        "SELECT type, address, netmask, auth_method, coalesce(error, '') "
        "FROM pg_hba_file_rules WHERE type <> 'local' ORDER BY line_number",
    ).splitlines()
    assert f"host|{app1}|255.255.255.255|scram-sha-256|" in rules
    assert all(r.endswith("|scram-sha-256|") for r in rules), rules
    assert not any(f"|{app2}|" in r for r in rules)


# --- database, role and logins -------------------------------------------------------


def test_database_and_login_role_exist(host):
    role = "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'app_admin'"
    assert sql(host, role) == "t|f"
    owner = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"
    assert sql(host, owner) == USER
    stored = sql(host, "SELECT rolpassword FROM pg_authid WHERE rolname = 'app_admin'")
    assert stored.startswith("SCRAM-SHA-256$4096:"), "stored as a SCRAM verifier"


def test_allowed_client_logs_in_with_the_password(host):
    app1 = other("lb_db-app1")
    login = client_login(app1, host_ip(host), PASSWORD)
    assert login.rc == 0, login.stderr
    assert login.stdout.strip() == f"{USER}|{DB}|{host_ip(app1)}"


def test_allowed_client_is_refused_without_or_with_a_wrong_password(host):
    app1 = other("lb_db-app1")
    missing = client_login(app1, host_ip(host), None)
    assert missing.rc != 0
    assert "no password supplied" in missing.stderr
    wrong = client_login(app1, host_ip(host), "molecule-wrong-password")
    assert wrong.rc != 0
    assert f'password authentication failed for user "{USER}"' in wrong.stderr


def test_client_outside_the_allowed_networks_is_refused_even_with_the_password(host):
    app2 = other("lb_db-app2")
    login = client_login(app2, host_ip(host), PASSWORD)
    assert login.rc != 0
    assert f'no pg_hba.conf entry for host "{host_ip(app2)}"' in login.stderr


# --- secrets -----------------------------------------------------------------------


def test_password_is_not_written_in_clear_on_the_host(host):
    found = host.run(
        f"grep -rlF {PASSWORD} /etc/postgresql /var/log/postgresql /var/lib/postgresql"
    )
    assert found.rc == 1, f"password found in: {found.stdout}"


def test_no_password_in_ansible_output_when_it_changes():
    """Converge again in check+diff mode, verbose, with a changed (fake) password: the user
    task reports the change and neither the old nor the new password is printed."""
    secret = {
        "engine": "postgres",
        "username": USER,
        "dbname": DB,
        "port": PORT,
        "password": "molecule-fake-db-password-2",
    }
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", os.environ["MOLECULE_INVENTORY_FILE"],
            # The database host and the one client whose address pg_hba needs.
            "--limit", "lb_db-db,lb_db-app1",
            "--check", "--diff", "-vv",
            "--tags", "postgresql_configure",
            "-e", json.dumps({"lb_db_secret_string": json.dumps(secret)}),
            str(SCENARIO / "converge.yml"),
        ],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "collections")},
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    recap = out.split("PLAY RECAP")[-1]
    db_line = next(line for line in recap.splitlines() if line.startswith("lb_db-db"))
    assert "changed=1" in db_line, f"the password change was not seen: {db_line}"
    # A prefix of the new one too: neither the old nor the new password was printed.
    assert PASSWORD not in out, "a password is in the Ansible output"


def test_changed_password_was_not_applied_by_the_check_run(host):
    login = client_login(other("lb_db-app1"), host_ip(host), PASSWORD)
    assert login.rc == 0, login.stderr
