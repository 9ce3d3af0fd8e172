"""The whole local stack: site.yml idempotence, serving through the load balancer,
rolling release under load, the broken-release drill, faults, and monitoring."""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import boto3
import pytest

from .conftest import (
    APP_IPS,
    ENV,
    LB,
    PROMETHEUS,
    REPO,
    LoadLoop,
    converge_marks,
    docker,
    get,
    host_get,
    lb_servers,
    playbook,
    release_of,
    run,
    unit_pid,
    wait_for,
)

sys.path.insert(0, str(REPO / "tests/monitoring"))
import promql  # tests/monitoring is not a package

pytestmark = pytest.mark.usefixtures("stack")

# The roles web.yml runs; its dry run on fresh hosts must report a change in each.
WEB_ROLES = ("postgresql", "node_exporter", "django_app", "nginx", "local_lb")
# web.yml --check on the converged stack: tasks that report a change although a real run
# changes nothing, each for a module's reason and with a canary test that fails when the
# reason goes away.
CONVERGED_CHECK_MODE_EXCEPTIONS: dict[str, str] = {}

BROKEN_MIGRATION = '''
from django.db import migrations, models


class Migration(migrations.Migration):
    """Drill: a release whose migration is not applied fails /ready/ (pending migration)."""

    dependencies = [("notes", "0001_initial")]
    operations = [
        migrations.AddField(
            "note", "drill_marker", models.CharField(max_length=8, default="", blank=True)
        ),
    ]
'''


def build_release(tmp_path: Path, version: str, broken: bool = False) -> dict:
    src = tmp_path / f"app-{version}"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    shutil.copytree(REPO / "app", src, ignore=ignore)
    if broken:
        (src / "notes/migrations/0002_drill_marker.py").write_text(BROKEN_MIGRATION)
    out = tmp_path / f"release-{version}"
    cmd = ["scripts/app-artifact.sh", "--out", str(out), "--version", version]
    built = run(cmd, APP_SRC=str(src))
    assert built.rc == 0, built.output[-3000:]
    release = json.loads((out / "release.json").read_text())
    release["dir"] = str(out)
    return release


def test_second_site_run_changes_nothing(stack):
    if not stack:
        pytest.skip("REUSE_STACK=1: no site.yml runs made")
    changed = stack["second"].changed()
    assert set(changed) >= {"localhost", "lb", "app1", "app2", "db", "mon"}, changed
    assert all(n == 0 for n in changed.values()), changed


def test_web_dry_run_on_fresh_hosts_reports_changes_and_changes_nothing(stack):
    """web.yml --check --diff before anything converged (the session fixture ran it right
    after the hosts and moto started, before the first site.yml, on every host but app2)."""
    if not stack:
        pytest.skip("REUSE_STACK=1: no fresh hosts")
    run = stack["fresh_check"]
    assert run.rc == 0, run.output[-6000:]
    # Limited to every host but app2 (app1's twin): it ran on the other app host and the lb.
    assert {"app1", "lb", "db"} <= set(run.changed()) and "app2" not in run.changed(), run.changed()
    changed = run.changed_tasks()
    for role in WEB_ROLES:
        assert any(t.startswith(f"devops.django.{role} :") for t in changed), (role, changed)
    # --diff shows what would change (the files the templates would write, for one).
    assert "--- before" in run.output and "+++ after" in run.output, run.output[-3000:]
    # Nothing on the hosts changed, nothing on moto was created...
    after = stack["after_fresh_check"]
    assert [mark for mark, present in after["marks"].items() if present] == [], after["marks"]
    assert after["secrets"] == [], after["secrets"]
    # ...and the same probe sees all of it now that site.yml converged the hosts.
    now = converge_marks()
    assert [mark for mark, present in now.items() if not present] == [], now


def test_web_dry_run_on_the_converged_stack_reports_no_change(stack):
    """web.yml --check --diff right after the second site.yml (the session fixture ran it)."""
    if not stack:
        pytest.skip("REUSE_STACK=1: no converged dry run made")
    run = stack["converged_check"]
    assert run.rc == 0, run.output[-6000:]
    changed = run.changed()
    assert set(changed) >= {"localhost", "lb", "app1", "app2", "db"}, changed
    unexpected = [t for t in run.changed_tasks() if t not in CONVERGED_CHECK_MODE_EXCEPTIONS]
    assert unexpected == [], unexpected
    assert sum(changed.values()) <= len(CONVERGED_CHECK_MODE_EXCEPTIONS) * len(changed), changed


def test_serves_through_the_load_balancer():
    status, headers, body = get(f"{LB}/health/")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, _, body = get(f"{LB}/ready/")
    assert status == 200, body
    assert json.loads(body)["status"] == "ready"
    status, _, page = get(f"{LB}/notes/")
    assert status == 200
    assert "<html" in page.lower()
    css = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page)
    assert css, "the list page links a hashed stylesheet"
    status, headers, _ = get(LB + css.group(1))
    assert status == 200
    cache = headers.get("Cache-Control") or headers.get("cache-control", "")
    assert "max-age=31536000" in cache or "immutable" in cache, cache
    # Both hosts are in rotation.
    releases = {release_of(host) for host in APP_IPS}
    assert len(releases) == 1


def test_prometheus_sees_every_target_and_dashboards_have_data(tmp_path):
    def all_up():
        status, _, body = get(f"{PROMETHEUS}/api/v1/targets")
        if status != 200:
            return None
        targets = json.loads(body)["data"]["activeTargets"]
        jobs = {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in targets}
        return jobs if len(jobs) >= 5 and all(h == "up" for h in jobs.values()) else None

    jobs = wait_for(all_up, 120, interval=2, what="every Prometheus target up")
    assert {job for job, _ in jobs} >= {"prometheus", "node", "django"}
    # Some traffic, so rate() panels have samples in their window.
    for _ in range(60):
        get(f"{LB}/notes/")
    time.sleep(25)

    def query(expr: str) -> dict:
        _, _, body = get(f"{PROMETHEUS}/api/v1/query?{urlencode({'query': expr})}", timeout=10)
        return json.loads(body)

    rules = promql.render_rules(tmp_path / "rules.yml")
    queries = promql.all_dashboard_queries() + promql.rule_queries(rules)
    result = promql.check_queries(queries, query)
    assert result.ok, "\n".join(result.invalid + result.empty)
    print(f"\n{result.checked} dashboard/rule queries valid; panels all returned series")


def test_release_under_load(tmp_path):
    release = build_release(tmp_path, "0.2.0")
    with LoadLoop() as load:
        time.sleep(2)
        deployed = playbook(
            "deploy.yml", "-e", "deploy_build=false", "-e", f"deploy_artifact_dir={release['dir']}"
        )
        time.sleep(2)
    assert deployed.rc == 0, deployed.output[-5000:]
    print(f"\nrelease under load: {load.total} requests, {len(load.errors)} errors")
    print(f"deploy.yml took {deployed.seconds:.0f}s")
    assert load.total > 100
    assert load.errors == [], load.errors[:10]
    for host in APP_IPS:
        assert release_of(host) == release["release_id"]


def test_broken_release_drill(tmp_path):
    before = {host: release_of(host) for host in APP_IPS}
    broken = build_release(tmp_path, "0.3.0", broken=True)
    with LoadLoop() as load:
        time.sleep(2)
        drill = playbook(
            "deploy.yml",
            "-e", "deploy_build=false",
            "-e", f"deploy_artifact_dir={broken['dir']}",
            # The migration is deliberately not applied: /ready/ reports it pending.
            "-e", '{"django_app_run_migrations": false}',
            "-e", "deploy_ready_retries=5",
        )  # fmt: skip
        time.sleep(2)
    print(f"\ndrill: {load.total} requests, {len(load.errors)} errors, {drill.seconds:.0f}s")
    assert drill.rc != 0, "the rollout must stop"
    stop = re.search(r"Release \S+ failed on app1.*?run deploy.yml again", drill.output, re.S)
    assert stop, drill.output[-4000:]
    # The command it prints is the README's, typed from the repository root.
    assert "again: ansible-playbook -i inventories/local playbooks/deploy.yml" in drill.output
    # The broken release was switched to (its check passes), then failed /ready/.
    assert "was rolled back to" in stop.group(0), stop.group(0)
    assert re.search(r"app1\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=1", drill.output)
    assert not re.search(r"^app2\s+:", drill.output, re.M), "app2 was never touched"
    assert {host: release_of(host) for host in APP_IPS} == before
    listing = docker("exec", "dd-local-app2", "ls", "/srv/sampleapp/releases").stdout
    assert broken["release_id"] not in listing
    assert load.errors == [], load.errors[:10]
    status, _, _ = get(f"{LB}/ready/")
    assert status == 200


def test_troubleshoot_gives_a_verdict_per_host_and_names_the_fault():
    healthy = playbook("troubleshoot.yml")
    assert healthy.rc == 0, healthy.output[-3000:]
    for host in APP_IPS:
        assert f"VERDICT {host}: OK" in healthy.output
    env_file = "/etc/sampleapp/env"
    secret = docker("exec", "dd-local-app2", "sed", "-n", "s/^DB_PASSWORD=//p", env_file)
    password = secret.stdout.strip().strip("'\"")
    assert len(password) >= 16
    docker("exec", "dd-local-app2", "systemctl", "stop", "nginx.service")
    try:
        faulty = playbook("troubleshoot.yml", "--limit", "app2", "-v")
    finally:
        docker("exec", "dd-local-app2", "systemctl", "start", "nginx.service")
    assert faulty.rc == 0, faulty.output[-3000:]
    assert "VERDICT app2: PROBLEM" in faulty.output
    assert "unit not active: nginx.service" in faulty.output
    assert "DB_PASSWORD" in faulty.output, "the env file's keys are listed"
    assert password not in faulty.output, "never its values"
    wait_for(lambda: host_get("app2", "/health/")[0] == 200, 30, what="nginx back on app2")


def _alert_state(name: str) -> str | None:
    _, _, body = get(f"{PROMETHEUS}/api/v1/alerts")
    for alert in json.loads(body)["data"]["alerts"]:
        if alert["labels"]["alertname"] == name:
            return alert["state"]
    return None


def test_database_down_fails_readiness_not_liveness():
    docker("exec", "dd-local-db", "systemctl", "stop", "postgresql@15-main")
    try:
        for host in APP_IPS:
            status, _, body = host_get(host, "/ready/")
            assert status == 503, f"{host}: {status} {body}"
            assert json.loads(body)["reason"] == "database unavailable"
            assert host_get(host, "/health/")[0] == 200
        state = wait_for(
            lambda: _alert_state("DjangoNotReady"), 90, interval=2, what="DjangoNotReady pending"
        )
        assert state in ("pending", "firing")
    finally:
        docker("exec", "dd-local-db", "systemctl", "start", "postgresql@15-main")
    wait_for(lambda: get(f"{LB}/ready/")[0] == 200, 60, what="/ready/ after PostgreSQL restarts")


def test_killed_gunicorn_master_is_restarted_by_systemd():
    unit = "sampleapp.service"
    pid = unit_pid("dd-local-app1", unit)
    assert pid not in ("", "0")
    docker("exec", "dd-local-app1", "kill", "-9", pid)
    started = time.monotonic()

    def serving_again():
        new = unit_pid("dd-local-app1", unit)
        ok = host_get("app1", "/health/")[0] == 200
        return new not in ("", "0", pid) and ok

    wait_for(serving_again, 30, what="gunicorn back under a new PID")
    print(f"\ngunicorn master killed: serving again after {time.monotonic() - started:.1f}s")


def test_stopped_app_host_is_routed_around():
    """A host that dies under load costs no request: while the health checks have not yet
    marked it DOWN, requests that meet it are retried on the live host; once DOWN, it gets
    no traffic at all. Detection time is bounded by the target group's thresholds."""
    interval, timeout, fall = 5, 2, 2  # inventories/local: alb_health_check_* (HAProxy copies)
    # Worst case: a check just passed, then `fall` checks each waiting out the connect timeout
    # (HAProxy: min(timeout connect 3s, inter)) plus `interval` between them, plus slack for
    # a loaded machine.
    bound = fall * (interval + max(timeout, 3)) + interval + 10
    assert lb_servers()["app2"]["status"] == "UP"
    with LoadLoop(max_seconds=bound + 20, max_requests=20000) as load:
        time.sleep(2)
        stopped = time.monotonic()
        docker("stop", "-t", "5", "dd-local-app2")
        try:
            wait_for(
                lambda: lb_servers()["app2"]["status"].startswith("DOWN"),
                bound,
                interval=0.5,
                what="HAProxy to mark app2 DOWN",
            )
            detected = time.monotonic() - stopped
            sent_to_app2 = int(lb_servers()["app2"]["stot"])
            during = load.total
            time.sleep(8)
        finally:
            load.stop()
            docker("start", "dd-local-app2")
    after = load.total - during
    print(
        f"\napp2 stopped: marked DOWN after {detected:.1f}s (bound {bound}s); "
        f"{load.total} requests, {len(load.errors)} errors, {after} after DOWN"
    )
    assert load.errors == [], load.errors[:10]
    assert after > 50
    assert int(lb_servers()["app2"]["stot"]) == sent_to_app2, "no request reached app2 once DOWN"
    wait_for(
        lambda: host_get("app2", "/ready/")[0] == 200, 120, interval=2, what="app2 ready again"
    )
    wait_for(
        lambda: lb_servers()["app2"]["status"] == "UP", 60, interval=1, what="app2 UP in HAProxy"
    )


def client(name: str):
    """A boto3 client on the local stack's moto (127.0.0.1)."""
    return boto3.client(
        name,
        endpoint_url=ENV["LOCAL_MOTO_URL"],
        region_name="eu-west-1",
        aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"],
    )


def _user_data_value(script: str, name: str) -> str:
    match = re.search(rf'^{name}="([^"]*)"$', script, re.M)
    assert match, f"{name}= not in the user data"
    return match.group(1)


def _user_data_and_fixtures() -> tuple[str, dict]:
    """The launch template's user data, and what the AWS CLI stand-in answers: moto's."""
    (version,) = client("ec2").describe_launch_template_versions(
        LaunchTemplateName="notes-local-app", Versions=["$Latest"]
    )["LaunchTemplateVersions"]
    script = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
    path = _user_data_value(script, "SSM_PATH")
    ids = re.search(r"^SECRET_IDS=\((.*)\)$", script, re.M)
    assert ids, "SECRET_IDS=( ... ) not in the user data"
    secret_ids = re.findall(r'"([^"]+)"', ids.group(1))
    assert _user_data_value(script, "ENV_FILE") == "/etc/sampleapp/boot.env"
    assert len(secret_ids) == 1
    ssm, secrets = client("ssm"), client("secretsmanager")
    parameters = ssm.get_parameters_by_path(Path=path, Recursive=True, WithDecryption=True)
    values = {p["Name"]: p["Value"] for p in parameters["Parameters"]}
    assert f"{path}/db/host" in values, values
    values[f"{path}/db/host"] = "dd-local-db"
    secret = secrets.get_secret_value(SecretId=secret_ids[0])["SecretString"]
    fixtures = {
        "region": "eu-west-1",
        "path": path,
        "parameters": [{"Name": k, "Value": v} for k, v in values.items()],
        "secrets": {secret_ids[0]: secret},
    }
    return script, fixtures


def test_launch_template_user_data_boots_an_app_host():
    """The user data stored in the launch template, run on app2 as an instance would at
    boot: it writes the app's boot env file from the SSM parameters and the DB secret,
    the app restarts on it and serves. The AWS CLI and the metadata service are stand-ins
    (tests/stack/files: the containers cannot reach moto on the controller's loopback);
    their answers are moto's parameters and secret, except DB_HOST: moto's RDS endpoint
    resolves nowhere, so it becomes the db container's DNS name (a value the role's own
    env file does not have: serving on it proves the boot file is loaded and wins)."""
    script, fixtures = _user_data_and_fixtures()
    ((secret_id, secret),) = fixtures["secrets"].items()
    password = json.loads(secret)["password"]
    box = "dd-local-app2"
    files = REPO / "tests/stack/files"
    before = unit_pid(box, "sampleapp.service")

    def sh(command: str, check: bool = True):
        return docker("exec", box, "sh", "-c", command, check=check)

    def put(path: str, content: str, mode: str) -> None:
        # Through stdin: `docker cp` does not write into the container's tmpfs (/run).
        docker("exec", "-i", box, "sh", "-c", f"cat > {path} && chmod {mode} {path}", stdin=content)

    put("/run/fake_imds.py", (files / "fake_imds.py").read_text(), "0644")
    put("/run/user-data.sh", script, "0700")
    try:
        sh("systemd-run --unit=fake-imds --collect python3 /run/fake_imds.py")
        # Without the AWS CLI in the image: a clear stop, nothing written.
        bare = sh("bash /run/user-data.sh", check=False)
        assert bare.returncode != 0 and "no AWS CLI in the image" in bare.stderr, bare
        assert sh("test -e /etc/sampleapp/boot.env", check=False).returncode != 0
        sh("install -d -m 0700 /run/fake-aws")
        put("/run/fake-aws/fixtures.json", json.dumps(fixtures), "0600")
        put("/usr/local/bin/aws", (files / "fake_aws.py").read_text(), "0755")
        booted = sh("bash /run/user-data.sh", check=False)
        assert booted.returncode == 0, booted.stderr
        assert password not in booted.stdout + booted.stderr
        assert "DB_PASSWORD" in booted.stderr, "the log names the keys it wrote"
        mode = sh("stat -c '%a %U %G' /etc/sampleapp/boot.env").stdout.split()
        assert mode == ["640", "root", "sampleapp"], mode
        written = sh("cat /etc/sampleapp/boot.env").stdout
        assert 'DB_HOST="dd-local-db"' in written
        assert f'DB_PASSWORD="{password}"' in written
        assert f'DB_SECRET_ARN="{secret_id}"' in written
        after = unit_pid(box, "sampleapp.service")
        assert after not in ("", "0", before), "the app restarted on the boot env file"
        environ = sh(f"tr '\\0' '\\n' < /proc/{after}/environ").stdout.splitlines()
        assert "DB_HOST=dd-local-db" in environ, "the boot file's value wins"
        wait_for(lambda: host_get("app2", "/ready/")[0] == 200, 30, what="app2 ready on it")
        shot = playbook("troubleshoot.yml", "--limit", "app2", "-v")
        assert "VERDICT app2: OK" in shot.output, shot.output[-3000:]
        assert "reachable dd-local-db:5432" in shot.output, "its DB check reads the boot file"
        assert password not in shot.output
    finally:
        sh("systemctl stop fake-imds.service", check=False)
        sh("rm -rf /usr/local/bin/aws /run/fake-aws /run/user-data.sh /run/fake_imds.py")
        sh("rm -f /etc/sampleapp/boot.env && systemctl restart sampleapp.service")
    wait_for(lambda: host_get("app2", "/ready/")[0] == 200, 30, what="app2 ready, boot file gone")


def test_bake_ami_up_to_the_ssm_session_moto_lacks():
    """bake_ami.yml on moto: builder launched, image registered, new launch template
    version on it, builder terminated. The host roles over SSM are skipped
    (bake_configure=false): moto has no SSM sessions (the one call it lacks here)."""
    ec2 = client("ec2")
    name = "notes-local-app-0.9.0"
    baked = playbook("bake_ami.yml", "-e", "bake_configure=false", "-e", "bake_release=0.9.0")
    assert baked.rc == 0, baked.output[-5000:]
    images = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])
    assert len(images["Images"]) == 1
    image = images["Images"][0]
    tags = {t["Key"]: t["Value"] for t in image.get("Tags", [])}
    assert tags["Project"] == "notes" and tags["ManagedBy"] == "devops.django"
    versions = ec2.describe_launch_template_versions(
        LaunchTemplateName="notes-local-app", Versions=["$Latest"]
    )["LaunchTemplateVersions"]
    assert versions[0]["LaunchTemplateData"]["ImageId"] == image["ImageId"]
    builders = ec2.describe_instances(
        Filters=[
            {"Name": "tag:Role", "Values": ["bake-builder"]},
            {"Name": "tag:Project", "Values": ["notes"]},
        ]
    )
    states = {i["State"]["Name"] for r in builders["Reservations"] for i in r["Instances"]}
    assert states == {"terminated"}, states
