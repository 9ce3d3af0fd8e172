#!/usr/bin/env bash
# Run one Molecule scenario with the shared harness; on failure print each of the
# scenario's containers' failed units and journal, then destroy the containers.
#   scripts/molecule.sh test <scenario>      converge + idempotence + verify + destroy
#   scripts/molecule.sh converge <scenario>  keep the containers for iteration
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH="$here/.venv/bin:$PATH" ANSIBLE_CONFIG="$here/ansible.cfg"
# Plain logs when not on a terminal (CI): colour codes make failures hard to read.
[ -t 1 ] || export NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0
action=${1:?usage: $0 test|converge|verify|destroy|login <scenario>}
scenario=${2:?scenario name (a directory under molecule/)}
[ -f "molecule/$scenario/molecule.yml" ] || { echo "no scenario molecule/$scenario" >&2; exit 2; }

dump_journals() {
  for c in $(docker ps -q --filter "label=devops-django-scenario=$scenario"); do
    name=$(docker inspect -f '{{.Name}}' "$c")
    echo "::: ${name#/}: failed units"
    docker exec "$c" systemctl --failed --no-pager --no-legend 2>&1 || true
    echo "::: ${name#/}: journalctl -n 150"
    docker exec "$c" journalctl --no-pager -n 150 -o short-precise 2>&1 || true
  done
}

start=$(date +%s)
if [ "$action" = test ]; then
  # `--destroy never` also skips the sequence's first destroy: clear leftovers ourselves,
  # or a container from an earlier run would be reused without create/prepare.
  molecule destroy -s "$scenario" >/dev/null 2>&1 || true
  if ! molecule test -s "$scenario" --destroy never; then
    dump_journals
    molecule destroy -s "$scenario" >/dev/null 2>&1 || true
    echo "molecule scenario $scenario FAILED after $(( $(date +%s) - start ))s" >&2
    exit 1
  fi
  molecule destroy -s "$scenario" >/dev/null
  echo "molecule scenario $scenario passed in $(( $(date +%s) - start ))s"
else
  molecule "$action" -s "$scenario"
fi
