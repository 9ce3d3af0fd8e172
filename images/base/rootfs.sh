#!/usr/bin/env bash
# Debootstrap a minimal Debian rootfs (systemd, python3, sudo) from the mirror of the
# build context's APT sources, put those sources in it, and `docker import` it as IMAGE.
# scripts/images.sh runs this when no registry answers for debian:<suite>.
#   rootfs.sh CONTEXT_DIR IMAGE WORK_DIR
set -euo pipefail
ctx=${1:?build context (suite, apt/)} image=${2:?image name} work=${3:?work directory}
suite=$(cat "$ctx/suite")
packages=systemd,systemd-sysv,python3,sudo,iproute2,procps,ca-certificates

command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
# First non-security Debian URI of the sources the image will carry.
mirror=$(cat "$ctx"/apt/sources.list "$ctx"/apt/sources.list.d/* 2>/dev/null \
  | grep -v '^\s*#' | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

root="$work/rootfs"
rm -rf "$root" && mkdir -p "$work"
echo "debootstrap $suite from $mirror"
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
# apt inside containers uses exactly the sources and quirks of the build context.
rm -f "$root/etc/apt/sources.list"
cp -a "$ctx"/apt/sources.list.d/. "$root/etc/apt/sources.list.d/"
[ -f "$ctx/apt/sources.list" ] && cp "$ctx/apt/sources.list" "$root/etc/apt/sources.list"
cp -a "$ctx"/apt/apt.conf.d/. "$root/etc/apt/apt.conf.d/"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import - "$image" >/dev/null
rm -rf "$root"
