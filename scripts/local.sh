#!/usr/bin/env bash
# `make local` / `make local-down`: the whole stack on this machine.
# The stack (moto + load balancer, app, PostgreSQL and monitoring containers, site.yml)
# is being built in issue 7; until it lands this explains itself and exits non-zero.
set -euo pipefail
cat <<'MSG'
make local: coming. It will start moto on 127.0.0.1, containers standing in for the ALB,
two app hosts, RDS and the monitoring host, then run
  ansible-playbook -i inventories/local playbooks/site.yml
What works today: 'make test' (lint, the app's tests, the node_exporter Molecule
scenario) and 'scripts/molecule.sh test <scenario>' for one scenario.
MSG
exit 2
