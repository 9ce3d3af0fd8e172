#!/usr/bin/env python3
"""Run `ansible-test sanity --local` on the collection without network access for ansible-test.

ansible-test builds one virtualenv per sanity test and pip-installs its own pinned
requirements into it, after bootstrapping pip with a get-pip.py it downloads from
ci-files.testing.ansible.com (not reachable here). This script:

- downloads the wheels of requirements-sanity.txt (the same pins) once into
  .cache/sanity-wheels (PyPI, through pip; skipped when they are all there);
- gives ansible-test a home under .cache/ansible-test-home whose get-pip cache entry installs
  pip from that wheelhouse;
- runs on a copy of the collection in a temporary ansible_collections tree that also links
  the collections galaxy.yml depends on (ansible-test looks for them only beside the
  collection; the venv's ansible package holds them);
- gives that home a pip.conf with no-index (ansible-test passes no PIP_* variables on), so
  every pip that ansible-test runs installs only from the wheelhouse.

Usage: scripts/collection_sanity.py [ansible-test sanity options, e.g. --test pep8]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ansible_collections
import yaml

REPO = Path(__file__).resolve().parents[1]
COLLECTION = REPO / "collections/ansible_collections/devops/django"
REQUIREMENTS = REPO / "requirements-sanity.txt"
WHEELS = REPO / ".cache/sanity-wheels"
HOME = REPO / ".cache/ansible-test-home"
PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", "-q", "--only-binary", ":all:"]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

# Stands in for get-pip.py, which ansible-test runs as `python get_pip_X_Y.py pip==X.Y ...`.
GET_PIP = '''"""Install pip from the local wheelhouse (written by scripts/collection_sanity.py)."""
import glob
import os
import sys

links = "{links}"
(wheel,) = glob.glob(os.path.join(links, "pip-{version}-*.whl"))
sys.path.insert(0, wheel)
from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--no-index", "--find-links", links, *args]))
'''


def pins() -> dict[str, str]:
    found = {}
    for raw in REQUIREMENTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "_", name).lower()] = version
    return found


def have_wheels() -> bool:
    present = {
        (re.sub(r"[-_.]+", "_", w.name.split("-")[0]).lower(), w.name.split("-")[1])
        for w in WHEELS.glob("*.whl")
    }
    return all(item in present for item in pins().items())


def stage(root: Path) -> Path:
    """Copy the collection under root/ansible_collections and link its dependencies there."""
    target = root / "ansible_collections/devops/django"
    ignore = shutil.ignore_patterns("output", "__pycache__", ".pytest_cache", ".plugin-cache.yaml")
    shutil.copytree(COLLECTION, target, ignore=ignore, symlinks=True)
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
    for dependency in galaxy.get("dependencies") or {}:
        namespace, name = dependency.split(".")
        for base in ansible_collections.__path__:
            found = Path(base, namespace, name)
            if found.is_dir():
                (root / "ansible_collections" / namespace).mkdir(exist_ok=True)
                (root / "ansible_collections" / namespace / name).symlink_to(found)
                break
    return target


def main() -> int:
    if not have_wheels():
        print(f"==> downloading the sanity wheels into {WHEELS.relative_to(REPO)}", flush=True)
        download = [*PIP_DOWNLOAD, "-d", str(WHEELS), "-r", str(REQUIREMENTS)]
        if subprocess.run(download, check=False).returncode != 0:
            print(
                f"could not download {REQUIREMENTS.name}'s wheels: the first run needs PyPI "
                f"(or copy them into {WHEELS.relative_to(REPO)})",
                file=sys.stderr,
            )
            return 1
    cache = HOME / ".ansible/test/cache"
    cache.mkdir(parents=True, exist_ok=True)
    pip_version = pins()["pip"]
    (cache / f"get_pip_{pip_version.replace('.', '_')}.py").write_text(
        GET_PIP.format(version=pip_version, links=WHEELS)
    )
    pip_conf = HOME / ".config/pip/pip.conf"
    pip_conf.parent.mkdir(parents=True, exist_ok=True)
    pip_conf.write_text(f"[global]\nno-index = true\nfind-links = {WHEELS}\n")
    env = dict(os.environ, HOME=str(HOME), PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELS))
    command = ["ansible-test", "sanity", "--local", "--python", PYTHON, "--color", "no"]
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dd-sanity-") as root:
        where = stage(Path(root))
        result = subprocess.run([*command, *sys.argv[1:]], cwd=where, env=env, check=False)
    print(f"ansible-test sanity: exit {result.returncode} in {time.monotonic() - start:.0f}s")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
