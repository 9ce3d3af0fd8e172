#!/usr/bin/env bash
# One-shot, idempotent set-up of this machine for `make local` and `make test`:
# Debian packages, the controller virtualenv, the Docker engine and the container hosts'
# images (scripts/images.sh: the Debian 12 base and packages images, cached by recipe).
# Each step checks before it acts, so a second run changes nothing.
#
#   scripts/setup.sh          everything
#   scripts/setup.sh venv     only the virtualenv (enough for lint and unit tests)
#   scripts/setup.sh apt      only the Debian packages (elsewhere: check the commands they provide)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
what=${1:-all}
venv="$here/.venv"

# Debian packages the harness needs on the controller.
#   docker.io, debootstrap: container hosts and their images
#   postgresql: the app's tests run against a real PostgreSQL on 127.0.0.1
#   wrk: bounded load generation for benchmarks and release-under-load tests
#   python3-venv, python3-dev, gcc: the controller virtualenv
#   git, curl, rsync, jq: scripts; shellcheck: lint of the shell scripts
APT_PACKAGES=(docker.io debootstrap postgresql wrk python3-venv python3-dev gcc git curl rsync jq shellcheck)
# Where dpkg is not the package manager, the commands those packages provide are looked for
# instead (PostgreSQL's server binaries may sit outside PATH, as on Debian).
REQUIRED_COMMANDS=(docker debootstrap initdb pg_ctl wrk python3.11 gcc git curl rsync jq shellcheck)
# Tests point this elsewhere to exercise the non-Debian path on a Debian machine.
DEBIAN_VERSION_FILE=${SETUP_DEBIAN_VERSION_FILE:-/etc/debian_version}

say() { printf '==> %s\n' "$*"; }

is_debian() { [ -f "$DEBIAN_VERSION_FILE" ] && command -v dpkg-query >/dev/null; }

need_root_debian() {
  if [ "$(id -u)" != 0 ] || ! is_debian; then
    cat >&2 <<MSG
This set-up installs Debian packages and starts the Docker engine, so it needs root
on Debian/Ubuntu. On other systems install these yourself, then run 'make setup' again:
  - ${APT_PACKAGES[*]}
  - a running Docker engine that the current user can use ('docker info' must answer)
MSG
    exit 1
  fi
}

has_command() {
  case "$1" in
    initdb | pg_ctl)
      command -v "$1" >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/$1" >/dev/null
      ;;
    python3.11)
      command -v python3.11 >/dev/null && python3.11 -c 'import venv, ensurepip' 2>/dev/null
      ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

# Not Debian: no packages to install, only the commands to check. Names what is missing.
check_commands() {
  local missing=()
  for c in "${REQUIRED_COMMANDS[@]}"; do
    has_command "$c" || missing+=("$c")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "required commands present (not Debian: checked commands, not packages)"
    return
  fi
  cat >&2 <<MSG
Not a Debian system, so this set-up does not install packages. Missing commands:
  ${missing[*]}
Install them with your package manager (python3.11 with its venv module; initdb and pg_ctl
from the PostgreSQL server), then run 'make setup' again.
MSG
  exit 1
}

apt_packages() {
  if ! is_debian; then
    check_commands
    return
  fi
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "Debian packages present"
    return
  fi
  need_root_debian
  say "installing Debian packages: ${missing[*]}"
  apt-get update -q >/dev/null
  # The packaged services (postgresql, docker) are started by our scripts, not at install.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

python_venv() {
  local stamp="$venv/.requirements.sha256" want
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "virtualenv up to date"
    return
  fi
  local py
  py=$(command -v python3.11 || command -v python3)
  "$py" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
    || { echo "Python 3.11 is required for the controller (found $("$py" -V))" >&2; exit 1; }
  say "creating virtualenv $venv"
  [ -x "$venv/bin/pip" ] || "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  # This machine's pip config names local wheel dirs that may be absent; keep those warnings out.
  "$venv/bin/pip" install -q -r requirements.txt 2> >(grep -v "is ignored: it is neither" >&2)
  echo "$want" >"$stamp"
}

docker_engine() {
  if docker info >/dev/null 2>&1; then
    say "Docker engine answers"
    return
  fi
  need_root_debian
  command -v dockerd >/dev/null || { echo "dockerd missing: apt-get install docker.io" >&2; exit 1; }
  say "starting dockerd (log: /var/log/dockerd.log)"
  # No init system manages services on the test machines: start the daemon ourselves.
  (setsid nohup dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  tail -n 20 /var/log/dockerd.log >&2
  echo "dockerd did not answer within 60s" >&2
  exit 1
}

case "$what" in
  venv)
    python_venv
    ;;
  apt)
    apt_packages
    ;;
  all)
    apt_packages
    python_venv
    docker_engine
    "$here/scripts/images.sh"
    ;;
  *)
    echo "usage: $0 [all|venv|apt]" >&2
    exit 2
    ;;
esac
