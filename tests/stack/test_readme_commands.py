"""The README's commands after `make local`, typed in a new shell on the running stack.

A new shell has HOME and a system PATH only: no AWS_* variables, no virtualenv. The last
command, `make local-down`, is only dry-run here: the stack fixture tears the stack down
after the other stack tests.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from .conftest import APP_IPS, LB, REPO, get, release_of

pytestmark = pytest.mark.usefixtures("stack")

_spec = importlib.util.spec_from_file_location(
    "check_readme_commands", REPO / "scripts" / "check_readme_commands.py"
)
readme = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = readme  # dataclasses look their module up there
_spec.loader.exec_module(readme)

TEARDOWN = "make local-down"


def new_shell(script: str, home, timeout: int = 1500) -> tuple[int, str]:
    # AWS_EC2_METADATA_DISABLED: with credentials missing, boto3 would ask 169.254.169.254.
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    proc = subprocess.run(
        ["/bin/bash", "-euo", "pipefail", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_readme_commands_after_make_local_work_in_a_new_shell(tmp_path):
    (block,) = [b for b in readme.readme_blocks() if b.uses_local_stack]
    assert block.commands == readme.local_sh_commands(), "local.sh prints the README's commands"
    assert block.commands[-1] == TEARDOWN, block
    commands = block.commands[:-1]
    assert any("playbooks/deploy.yml" in c for c in commands), block
    assert any("playbooks/troubleshoot.yml" in c for c in commands), block

    rc, out = new_shell("\n".join(commands), tmp_path)
    assert rc == 0, out[-6000:]
    print(f"\nREADME commands after make local, in a new shell: {' && '.join(commands)}")

    rolled = re.search(r"Rolling out (\S+) over 2 host\(s\)", out)
    assert rolled, out[-3000:]
    assert {host: release_of(host) for host in APP_IPS} == dict.fromkeys(APP_IPS, rolled[1])
    for host in APP_IPS:
        assert f"VERDICT {host}: OK" in out, out[-3000:]
    assert get(f"{LB}/ready/")[0] == 200

    rc, out = new_shell(f"{TEARDOWN} -n", tmp_path)
    assert rc == 0, out
    assert "scripts/local.sh down" in out, out
