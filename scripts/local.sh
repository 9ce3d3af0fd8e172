#!/usr/bin/env bash
# The whole stack on this machine.
#   scripts/local.sh up        moto + containers, then site.yml (second run: 0 changes)
#   scripts/local.sh down      remove the containers, the network and moto
#   scripts/local.sh status    what runs, and where
#   scripts/local.sh hosts     only moto + containers (no Ansible): for tests
#
# Containers stand in for the EC2 hosts and managed services:
#   dd-local-lb    HAProxy in place of the ALB (same health check as the alb role)
#   dd-local-app1  app host: django_app + nginx + node_exporter
#   dd-local-app2  app host
#   dd-local-db    PostgreSQL in place of RDS (password from the rds role's secret, on moto)
#   dd-local-mon   monitoring host: Prometheus (+ Grafana where its repository is reachable)
# Published on 127.0.0.1 only. The AWS plays (infra.yml) run against moto on 127.0.0.1.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH="$here/.venv/bin:$PATH" ANSIBLE_CONFIG="$here/ansible.cfg"

state_dir="$here/.cache/local"
image=${BASE_IMAGE:-devops-django/debian${DEBIAN_RELEASE:-12}-packages:latest}
network=dd-local
subnet=${LOCAL_SUBNET:-172.30.99.0/24}
prefix=${subnet%.*}
moto_port=${LOCAL_MOTO_PORT:-5055}
lb_port=${LOCAL_LB_PORT:-8080}
lb_stats_port=${LOCAL_LB_STATS_PORT:-8404}
prometheus_port=${LOCAL_PROMETHEUS_PORT:-9090}
grafana_port=${LOCAL_GRAFANA_PORT:-3000}

# name  ip-suffix  published ports (host:container, on 127.0.0.1)
containers=(
  "lb 10 $lb_port:80,$lb_stats_port:8404"
  "app1 21 -"
  "app2 22 -"
  "db 30 -"
  "mon 40 $prometheus_port:9090,$grafana_port:3000"
)

say() { printf '==> %s\n' "$*"; }

moto_url() { echo "http://127.0.0.1:$moto_port"; }

start_moto() {
  mkdir -p "$state_dir"
  if curl -fsS -o /dev/null "$(moto_url)/moto-api/" 2>/dev/null; then
    say "moto answers at $(moto_url)"
    return
  fi
  say "starting moto on $(moto_url) (log: $state_dir/moto.log)"
  # Fake credentials only: this server is the AWS of the local stack.
  (MOTO_IAM_LOAD_MANAGED_POLICIES=true setsid nohup moto_server -H 127.0.0.1 -p "$moto_port" \
    >"$state_dir/moto.log" 2>&1 & echo $! >"$state_dir/moto.pid")
  for _ in $(seq 1 60); do
    curl -fsS -o /dev/null "$(moto_url)/moto-api/" 2>/dev/null && return
    sleep 0.5
  done
  echo "moto did not start: see $state_dir/moto.log" >&2
  exit 1
}

start_containers() {
  docker network inspect "$network" >/dev/null 2>&1 \
    || docker network create --subnet "$subnet" --label devops-django-stack=local "$network" >/dev/null
  for spec in "${containers[@]}"; do
    read -r name suffix ports <<<"$spec"
    cname="dd-local-$name"
    if docker container inspect "$cname" >/dev/null 2>&1; then
      [ "$(docker inspect -f '{{.State.Running}}' "$cname")" = true ] || docker start "$cname" >/dev/null
      continue
    fi
    publish=()
    if [ "$ports" != - ]; then
      IFS=, read -ra pairs <<<"$ports"
      for p in "${pairs[@]}"; do publish+=(-p "127.0.0.1:$p"); done
    fi
    say "starting $cname ($prefix.$suffix)"
    docker run -d --name "$cname" --hostname "$name" --network "$network" --ip "$prefix.$suffix" \
      --label devops-django-stack=local --label "devops-django-scenario=local" \
      --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
      --stop-signal SIGRTMIN+3 "${publish[@]}" "$image" /lib/systemd/systemd >/dev/null
  done
  for spec in "${containers[@]}"; do
    read -r name _ _ <<<"$spec"
    for _ in $(seq 1 60); do
      s=$(docker exec "dd-local-$name" systemctl is-system-running 2>/dev/null || true)
      case "$s" in running|degraded) break ;; esac
      sleep 0.5
    done
  done
}

local_env() {
  export LOCAL_MOTO_URL; LOCAL_MOTO_URL=$(moto_url)
  export LOCAL_SUBNET="$subnet" LOCAL_PREFIX="$prefix"
  # The plays and roles read the inventory's fake credentials (inventories/local/group_vars/all/aws.yml);
  # the same values here cover any boto3 call site.yml makes outside module_defaults.
  export AWS_ACCESS_KEY_ID=local-fake-access-key AWS_SECRET_ACCESS_KEY=local-fake-secret-key
  export AWS_DEFAULT_REGION=eu-west-1
}

summary() {
  cat <<MSG

Local stack is up.
  App (through the load balancer):  http://127.0.0.1:$lb_port/  (/health/, /ready/, /notes/, /admin/)
  Load balancer stats:              http://127.0.0.1:$lb_stats_port/stats
  Prometheus:                       http://127.0.0.1:$prometheus_port/
  AWS APIs (moto):                  $(moto_url)
  Containers: dd-local-lb (ALB), dd-local-app1/app2 (EC2 app hosts), dd-local-db (RDS),
              dd-local-mon (monitoring host)

In any shell, from $here:
  Virtualenv:   . .venv/bin/activate
  Release:      ansible-playbook -i inventories/local playbooks/deploy.yml
  Troubleshoot: ansible-playbook -i inventories/local playbooks/troubleshoot.yml
  Tear down:    make local-down
MSG
}

case "${1:-up}" in
  up)
    start_moto
    start_containers
    local_env
    make -s app-artifact
    ansible-playbook -i inventories/local playbooks/site.yml
    summary
    ;;
  hosts)
    start_moto
    start_containers
    ;;
  down)
    for spec in "${containers[@]}"; do
      read -r name _ _ <<<"$spec"
      docker rm -f "dd-local-$name" >/dev/null 2>&1 || true
    done
    docker network rm "$network" >/dev/null 2>&1 || true
    if [ -f "$state_dir/moto.pid" ]; then
      kill "$(cat "$state_dir/moto.pid")" 2>/dev/null || true
      rm -f "$state_dir/moto.pid"
    fi
    say "local stack removed"
    ;;
  status)
    docker ps --filter label=devops-django-stack=local --format '{{.Names}}\t{{.Status}}\t{{.Ports}}'
    curl -fsS -o /dev/null "$(moto_url)/moto-api/" 2>/dev/null && echo "moto: $(moto_url)" || echo "moto: not running"
    ;;
  *)
    echo "usage: $0 up|down|status|hosts" >&2
    exit 2
    ;;
esac
