"""The commands README.md, scripts/local.sh and the plays print work as shown in a new shell.

A new shell has HOME and a system PATH, nothing else: no AWS_* variables, no virtualenv.
The local-stack commands run here against a moto server on a free port (the inventory's
endpoint moved there with LOCAL_MOTO_URL); tests/stack/test_readme_commands.py runs them
against the stack `make local` starts.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "check_readme_commands", REPO / "scripts" / "check_readme_commands.py"
)
readme = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = readme  # dataclasses look their module up there
_spec.loader.exec_module(readme)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A new login shell's environment. AWS_EC2_METADATA_DISABLED keeps boto3 from asking
    169.254.169.254 when credentials are missing (it supplies none itself)."""
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_EC2_METADATA_DISABLED": "true",
        **extra,
    }


def in_new_shell(script: str, home: Path, timeout: int = 600, **extra: str):
    """Run `script` with bash from the repository root in a clean environment."""
    proc = subprocess.run(
        ["/bin/bash", "-euo", "pipefail", "-c", script],
        cwd=REPO,
        env=clean_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


ACTIVATE = ". .venv/bin/activate"


def local_stack_block() -> readme.Block:
    blocks = [b for b in readme.readme_blocks() if b.uses_local_stack]
    assert len(blocks) == 1, f"expected one README block for the local stack: {blocks}"
    return blocks[0]


def test_the_first_commands_are_make_local_and_make_test():
    first = readme.readme_blocks()[0]
    assert first.commands == ("make local", "make test"), first


def test_every_printed_command_names_what_exists():
    commands = [c for cs in readme.all_commands().values() for c in cs]
    assert len(commands) >= 8, commands
    problems = [p for c in commands for p in readme.name_problems(c)]
    assert problems == []


def test_the_name_check_fails_on_a_missing_name():
    assert readme.name_problems("make no-such-target")
    assert readme.name_problems("ansible-playbook -i inventories/local playbooks/nope.yml")
    assert readme.name_problems("ansible-playbook -i inventories/nope playbooks/site.yml")
    assert readme.name_problems("scripts/no-such-script.sh up")


def test_readme_and_local_sh_print_the_same_next_commands():
    """The README's block after `make local` is what local.sh says when the stack is up;
    it starts with the virtualenv (a new shell has no ansible-playbook on its PATH)."""
    block = local_stack_block()
    assert block.commands[0] == ACTIVATE, block
    assert readme.local_sh_commands() == block.commands


def test_printed_playbook_commands_parse_in_a_new_shell(tmp_path):
    """The local-stack ones as printed; the others' playbooks with the local inventory
    (an aws_ec2 inventory would call AWS)."""
    printed = {c for cs in readme.all_commands().values() for c in cs}
    local = sorted(c for c in printed if c.startswith("ansible-playbook -i inventories/local "))
    others = sorted(
        {
            f"ansible-playbook -i inventories/local {word}"
            for c in printed - set(local)
            if c.startswith("ansible-playbook ")
            for word in c.split()
            if word.startswith("playbooks/")
        }
    )
    assert local and others, printed
    script = "\n".join([ACTIVATE, *(f"{c} --syntax-check" for c in local + others)])
    rc, out = in_new_shell(script, tmp_path)
    assert rc == 0, out[-3000:]


def test_without_the_virtualenv_a_new_shell_has_no_ansible(tmp_path):
    """Why the README's block starts with the virtualenv: nothing installs ansible system-wide."""
    rc, out = in_new_shell("command -v ansible-playbook", tmp_path)
    assert rc != 0, out


@pytest.fixture
def local_on_moto(moto_endpoint, tmp_path):
    """Run a script in a new shell with the local inventory's endpoint on the test's moto."""

    def run(script: str):
        return in_new_shell(f"{ACTIVATE}\n{script}", tmp_path, LOCAL_MOTO_URL=moto_endpoint)

    return run


WEB_SECRETS = "ansible-playbook -i inventories/local playbooks/web.yml --limit aws_controller"


def test_local_inventory_carries_its_credentials_for_plays_and_lookups(local_on_moto):
    # web.yml's first play creates the app's secret through the play's module_defaults;
    # the inventory's own lookup (local_app_secret_key) reads it back.
    rc, out = local_on_moto(WEB_SECRETS)
    assert rc == 0, out[-3000:]
    assert "failed=0" in out, out[-3000:]
    rc, out = local_on_moto(
        "ansible -i inventories/local localhost -m ansible.builtin.assert"
        " -a 'that=\"local_app_secret_key | length == 64\"'"
    )
    assert rc == 0, out[-3000:]


def test_without_the_inventory_credentials_the_same_play_fails(local_on_moto):
    """The clean shell really has no credentials: the inventory's are the ones used."""
    rc, out = local_on_moto(f"{WEB_SECRETS} -e devops_aws_access_key= -e devops_aws_secret_key=")
    assert rc != 0, out[-3000:]
    assert "Unable to locate credentials" in out or "NoCredentialsError" in out, out[-3000:]


def test_aws_roles_take_the_inventory_credentials(local_on_moto):
    """The AWS roles' module_defaults (aws_common) carry the local inventory's fake
    credentials: infra.yml's network role runs in a clean shell with no AWS_* variable."""
    rc, out = local_on_moto("ansible-playbook -i inventories/local playbooks/infra.yml --tags vpc")
    assert rc == 0, out[-3000:]
    assert "Unable to locate credentials" not in out, out[-3000:]
    assert "TASK [devops.django.vpc" in out, out[-3000:]


def test_plays_print_their_commands_with_the_inventory_they_ran_with():
    """Every `ansible-playbook` a play prints takes its inventory from the run, so it reads
    `-i inventories/local` on the local stack and `-i inventories/prod` on prod."""
    printed = [
        line
        for path in sorted((REPO / "playbooks").rglob("*.yml"))
        for line in path.read_text().splitlines()
        if "ansible-playbook " in line and not line.lstrip().startswith("#")
    ]
    assert len(printed) == len(readme.play_commands()) >= 3, printed


def test_teardown_prints_a_confirm_command_that_works_as_printed(local_on_moto):
    """The refusal names the command that confirms; run as printed, it passes the guard.
    What follows the guard (the AWS roles) runs on the inventory's credentials."""
    protect = """-e '{"teardown_protected_environments": ["local"]}'"""
    teardown = "ansible-playbook -i inventories/local playbooks/teardown.yml"
    rc, out = local_on_moto(f"{teardown} {protect}")
    assert rc != 0, out[-3000:]
    printed = re.search(r"To confirm: (ansible-playbook [^\"\\]+?)(?:\"|\\n|$)", out, re.M)
    assert printed, out[-3000:]
    command = printed[1].strip()
    assert command == f"{teardown} -e teardown_confirm=notes-local", command
    rc, out = local_on_moto(f"{command} {protect}")
    assert "Refusing" not in out, out[-3000:]
    assert "TASK [devops.django.alarms" in out, out[-3000:]
    assert rc == 0, out[-3000:]
