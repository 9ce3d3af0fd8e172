#!/usr/bin/env bash
# Build the systemd Debian 12 base image used by Molecule and the local stack.
#
# - FROM debian:bookworm when a registry answers; otherwise debootstrap from this
#   machine's own Debian mirror and `docker import` the rootfs.
# - The image carries the machine's APT sources (so apt works inside containers) and
#   the machine's extra CA certificates (so HTTPS through its TLS path works).
# - Cached: rebuilt only when its recipe (this script, the Dockerfile, the sources,
#   the CAs) changes. A second run prints "up to date" and changes nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
image=${BASE_IMAGE:-devops-django/systemd-debian12:latest}
recipe_dir="$here/images/systemd-debian12"
cache="$here/.cache/base-image"
suite=bookworm
packages=systemd,systemd-sysv,python3,sudo,iproute2,procps,ca-certificates

mkdir -p "$cache"

# Everything that shapes the image goes into the recipe hash.
apt_sources() { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true; }
extra_cas() { find /usr/local/share/ca-certificates -name '*.crt' -type f 2>/dev/null | sort; }
recipe=$( {
  cat "$0" "$recipe_dir/Dockerfile"
  apt_sources
  for f in $(extra_cas); do cat "$f"; done
} | sha256sum | cut -c1-16)

current=$(docker image inspect --format '{{ index .Config.Labels "org.devops-django.recipe" }}' "$image" 2>/dev/null || true)
if [ "$current" = "$recipe" ]; then
  echo "base image $image up to date (recipe $recipe)"
  exit 0
fi

# Build context: Dockerfile + extra CAs + APT config, assembled fresh.
ctx="$cache/context"
rm -rf "$ctx" && mkdir -p "$ctx/extra-ca"
cp "$recipe_dir/Dockerfile" "$ctx/"
for f in $(extra_cas); do cp "$f" "$ctx/extra-ca/"; done

base=debian:$suite
if ! timeout 60 docker pull "$base" >/dev/null 2>&1; then
  echo "registry unreachable: building the rootfs with debootstrap"
  rootfs_image="devops-django/debian12-rootfs:$recipe"
  if ! docker image inspect "$rootfs_image" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
    # The machine's own mirror, first non-security Debian URI in its APT sources.
    mirror=$(apt_sources | grep -v '^\s*#' | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n1)
    mirror=${mirror:-http://deb.debian.org/debian}
    root="$cache/rootfs"
    rm -rf "$root"
    echo "debootstrap $suite from $mirror"
    debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }
    # apt inside containers uses exactly the sources and quirks of this machine.
    rm -f "$root/etc/apt/sources.list"
    cp -a /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
    [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
    for f in /etc/apt/apt.conf.d/*; do
      grep -q '^Acquire::Check-Valid-Until' "$f" 2>/dev/null && cp "$f" "$root/etc/apt/apt.conf.d/"
    done
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | docker import - "$rootfs_image" >/dev/null
    rm -rf "$root"
  fi
  base=$rootfs_image
fi

docker build -q --build-arg "BASE=$base" --label "org.devops-django.recipe=$recipe" -t "$image" "$ctx" >/dev/null
echo "base image $image built from $base (recipe $recipe)"
