#!/usr/bin/env bash
# The container hosts' images: one chain per Debian release, each stage tagged with the
# hash of its recipe (and :latest, which Molecule, the local stack and the tests use), and
# rebuilt only when that recipe changes; a second run prints "up to date" per stage.
#   devops-django/debian<N>-base      systemd + python3: a bare host (images/base/)
#   devops-django/debian<N>-packages  the base + every Debian package the host roles and the
#                                     Molecule prepares install (images/packages/packages.txt)
# A stage's recipe is its directory under images/ plus its inputs: the release and this
# machine's APT sources and extra CAs for the base, the base's hash for the packages stage.
#
#   scripts/images.sh [--release 12|13] [base|packages]     build up to that stage (default packages)
#   scripts/images.sh hash [--release 12|13] base|packages  print a stage's recipe hash (no Docker)
#   scripts/images.sh name [--release 12|13] base|packages  print a stage's image name
# The release defaults to $DEBIAN_RELEASE, else 12 (the same variable picks the image in
# Molecule and scripts/local.sh).
#
# The base is FROM debian:<suite> when a registry answers; otherwise images/base/rootfs.sh
# debootstraps it from this machine's own Debian mirror. It carries the machine's APT
# sources (its codename swapped for the release's) and extra CA certificates, so apt and
# HTTPS work inside containers as they do on the machine.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
recipes=${IMAGES_RECIPES:-$here/images}
action=build
case ${1:-} in hash | name | build) action=$1 && shift ;; esac
release=${DEBIAN_RELEASE:-12}
stage=packages
while [ $# -gt 0 ]; do
  case $1 in
    --release) release=${2:?--release 12|13} && shift 2 ;;
    base | packages) stage=$1 && shift ;;
    *) echo "usage: $0 [build|hash|name] [--release 12|13] [base|packages]" >&2 && exit 2 ;;
  esac
done
case $release in
  12) suite=bookworm ;;
  13) suite=trixie ;;
  *) echo "unknown Debian release '$release' (12 or 13)" >&2 && exit 2 ;;
esac
prefix=devops-django/debian$release
cache=${IMAGES_CACHE:-$here/.cache/images}/debian$release

if [ "$action" = name ]; then
  echo "$prefix-$stage:latest"
  exit 0
fi

host_codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null || true)
extra_cas() { find /usr/local/share/ca-certificates -name '*.crt' -type f 2>/dev/null | sort; }

# The machine's Debian sources for this release, with apt.conf quirks that make them work.
render_apt() {
  local out=$1 f
  mkdir -p "$out/sources.list.d" "$out/apt.conf.d"
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
    [ -f "$f" ] || continue
    case $f in */sources.list) dest=$out/sources.list ;; *) dest=$out/sources.list.d/${f##*/} ;; esac
    if [ -n "$host_codename" ]; then sed "s/\b$host_codename\b/$suite/g" "$f" >"$dest"; else cp "$f" "$dest"; fi
  done
  if [ -z "$(ls -A "$out/sources.list.d")" ] && [ ! -s "$out/sources.list" ]; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: main\n' \
      "$suite" "$suite" >"$out/sources.list.d/debian.sources"
  fi
  for f in /etc/apt/apt.conf.d/*; do
    grep -q '^Acquire::Check-Valid-Until' "$f" 2>/dev/null && cp "$f" "$out/apt.conf.d/"
  done
  return 0
}

# Hash of every file (name and content) under a directory, or under some of its paths.
hash_dir() {
  local dir=$1 && shift
  (cd "$dir" && find "${@:-.}" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -c1-16
}

# Build contexts hold exactly the recipe, so their hash is the recipe's hash.
base_context() {
  local ctx=$cache/base-context f
  rm -rf "$ctx" && mkdir -p "$ctx/extra-ca"
  cp -a "$recipes/base/." "$ctx/"
  echo "$suite" >"$ctx/suite"
  render_apt "$ctx/apt"
  for f in $(extra_cas); do cp "$f" "$ctx/extra-ca/"; done
  echo "$ctx"
}

packages_context() {
  local base_image=$1 ctx=$cache/packages-context
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -a "$recipes/packages/." "$ctx/"
  echo "$base_image" >"$ctx/base-image"
  echo "$ctx"
}

if [ "$action" = hash ]; then
  # A private copy: hashing needs no lock and leaves the build's contexts alone.
  cache=$(mktemp -d)
  trap 'rm -rf "$cache"' EXIT
else
  # One build per release at a time on this Docker engine (worktrees share it).
  exec 9>"/tmp/devops-django-images-debian$release.lock"
  flock 9
fi
mkdir -p "$cache"
base_ctx=$(base_context)
base_hash=$(hash_dir "$base_ctx")
base_image=$prefix-base:$base_hash
packages_ctx=$(packages_context "$base_image")
packages_hash=$(hash_dir "$packages_ctx")

if [ "$action" = hash ]; then
  if [ "$stage" = base ]; then echo "$base_hash"; else echo "$packages_hash"; fi
  exit 0
fi

# build_stage NAME HASH CONTEXT FROM
build_stage() {
  local name=$1 hash=$2 ctx=$3 from=$4 image=$prefix-$1:$2 start
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "image $image up to date"
  else
    start=$(date +%s)
    # The build's output only on failure (the legacy builder warns on stderr every time).
    docker build --build-arg "BASE=$from" --label "org.devops-django.recipe=$hash" \
      --label "org.devops-django.stage=$name" -t "$image" "$ctx" >"$cache/$name-build.log" 2>&1 \
      || { tail -n 40 "$cache/$name-build.log" >&2; echo "building $image failed: $cache/$name-build.log" >&2; exit 1; }
    echo "image $image built from $from in $(($(date +%s) - start))s"
  fi
  docker tag "$image" "$prefix-$name:latest"
}

if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  from=debian:$suite
  if ! timeout 60 docker pull "$from" >/dev/null 2>&1; then
    # Keyed by what shapes the rootfs alone, so a change to the Dockerfile reuses it.
    from=$prefix-rootfs:$(hash_dir "$base_ctx" rootfs.sh suite apt)
    if ! docker image inspect "$from" >/dev/null 2>&1; then
      echo "registry unreachable: building the rootfs with debootstrap"
      bash "$base_ctx/rootfs.sh" "$base_ctx" "$from" "$cache"
    fi
  fi
  build_stage base "$base_hash" "$base_ctx" "$from"
else
  build_stage base "$base_hash" "$base_ctx" -
fi
[ "$stage" = base ] && exit 0
build_stage packages "$packages_hash" "$packages_ctx" "$base_image"
