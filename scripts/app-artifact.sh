#!/usr/bin/env bash
# Build the sample app's release artifact: the app wheel plus a wheelhouse of every
# pinned dependency for the hosts' Python (Debian 12: CPython 3.11, x86_64), so hosts
# install with no git and no PyPI:
#
#   DIR/release.json       {"name", "version", "release_id", "wheel"}
#   DIR/requirements.lock  the pins (copy of app/requirements.lock)
#   DIR/wheelhouse/*.whl   every dependency + the app wheel
#
# Install on a host:
#   python3 -m venv V && V/bin/pip install --no-index --find-links DIR/wheelhouse \
#     -r DIR/requirements.lock DIR/wheelhouse/<wheel>
#
# Usage:
#   scripts/app-artifact.sh [--out DIR] [--version VER]   build (default DIR: build/app)
#   scripts/app-artifact.sh --venv-only                    only create/refresh .cache/app-venv
#   scripts/app-artifact.sh --relock                       regenerate app/requirements.lock
#
# Downloaded wheels are cached in .cache/app-wheels: a second build runs offline.
# The app wheel is reproducible (SOURCE_DATE_EPOCH), so release_id changes only when a
# wheel's content, or the version, changes.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# APP_SRC builds from another copy of the sources (tests build deliberately broken releases).
app=${APP_SRC:-$here/app}
venv=$here/.cache/app-venv
wheel_cache=$here/.cache/app-wheels
out=$here/build/app
version=
mode=build
# Wheel tags the hosts accept (Debian 12: glibc 2.36, CPython 3.11, x86_64).
HOST_PYTHON_VERSION=${APP_HOST_PYTHON_VERSION:-3.11}
read -r -a HOST_PLATFORMS <<<"${APP_HOST_PLATFORMS:-manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64}"
PEP440='^[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?$'

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'app-artifact: %s\n' "$*" >&2; exit 1; }
# This machine's pip config names local wheel dirs that may be absent; keep those warnings out.
quiet_pip() { "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --version) [ $# -ge 2 ] || die "--version needs a value"; version=$2; shift 2 ;;
    --version=*) version=${1#--version=}; shift ;;
    --venv-only) mode=venv; shift ;;
    --relock) mode=relock; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# .cache/app-venv: runtime pins + test/build tools, rebuilt when either file changes.
ensure_venv() {
  local stamp=$venv/.requirements.sha256 want py
  want=$(cat "$app/requirements.lock" "$app/requirements-test.txt" | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  py=$(command -v python3.11 || command -v python3)
  "$py" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
    || die "Python 3.11 is required (found $("$py" -V))"
  say "creating $venv"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  quiet_pip "$venv/bin/pip" install -q -r "$app/requirements.lock" -r "$app/requirements-test.txt"
  echo "$want" >"$stamp"
}

relock() {
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  say "resolving app/requirements.in in a clean virtualenv"
  python3 -m venv "$tmp/venv"
  quiet_pip "$tmp/venv/bin/pip" install -q -r "$app/requirements.in"
  {
    echo "# Every runtime dependency of django-sample-app, pinned (CPython 3.11, Linux x86_64)."
    echo "# Generated from requirements.in with \`scripts/app-artifact.sh --relock\` (a clean venv + pip freeze)."
    "$tmp/venv/bin/pip" freeze --all --exclude pip --exclude setuptools --exclude wheel | LC_ALL=C sort -f
  } >"$app/requirements.lock"
  say "wrote app/requirements.lock"
}

# Fill the cache with the host wheels for every pin: offline when the cache already has them.
fetch_wheels() {
  local args=(--only-binary=:all: --python-version "$HOST_PYTHON_VERSION" --implementation cp
    --abi "cp${HOST_PYTHON_VERSION/./}" -r "$app/requirements.lock")
  local p
  for p in "${HOST_PLATFORMS[@]}"; do args+=(--platform "$p"); done
  mkdir -p "$wheel_cache"
  if ! "$venv/bin/pip" download -q --no-index --find-links "$wheel_cache" -d "$1" "${args[@]}" \
    >/dev/null 2>&1; then
    say "downloading wheels for CPython $HOST_PYTHON_VERSION ${HOST_PLATFORMS[*]} into $wheel_cache"
    quiet_pip "$venv/bin/pip" download -q -d "$wheel_cache" "${args[@]}"
    quiet_pip "$venv/bin/pip" download -q --no-index --find-links "$wheel_cache" -d "$1" "${args[@]}"
  fi
}

build() {
  local tmp src wheelhouse wheel release_id
  if [ -z "$version" ]; then
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$app/pyproject.toml")
  fi
  [[ $version =~ $PEP440 ]] || die "--version must be a PEP 440 version such as 0.1.0 or 0.2.0rc1; got '$version'"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  # Build from a clean copy: no stale build/ or egg-info in app/, and --version applies to the copy only.
  src=$tmp/src
  mkdir -p "$src"
  (cd "$app" && tar --exclude=tests --exclude=build --exclude='*.egg-info' --exclude=__pycache__ \
    --exclude='*.pyc' --exclude=.pytest_cache -cf - .) | tar -xf - -C "$src"
  sed -i "s/^version = \".*\"$/version = \"$version\"/" "$src/pyproject.toml"

  wheelhouse=$tmp/wheelhouse
  mkdir -p "$wheelhouse"
  # Fixed zip timestamps: same sources -> same wheel bytes -> same release id.
  say "building the app wheel (version $version)"
  SOURCE_DATE_EPOCH=315532800 quiet_pip "$venv/bin/pip" wheel -q --no-deps \
    --no-build-isolation --no-index -w "$tmp/dist" "$src" >/dev/null
  local built=("$tmp"/dist/*.whl)
  if [ ${#built[@]} != 1 ] || [ ! -f "${built[0]}" ]; then
    die "expected one app wheel, got: ${built[*]}"
  fi
  wheel=$(basename "${built[0]}")
  cp "${built[0]}" "$wheelhouse/"

  fetch_wheels "$wheelhouse"

  # sha256 over "<sha256>  <file>" lines sorted by file name (docs/app.md, tests/test_artifact.py).
  release_id=$(cd "$wheelhouse" && printf '%s\n' ./*.whl | sed 's|^\./||' | LC_ALL=C sort \
    | while read -r f; do printf '%s  %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$f"; done \
    | sha256sum | cut -c1-12)
  release_id="$version-$release_id"

  # Replace only what this script writes: --out may name a directory that holds other things.
  mkdir -p "$out"
  rm -rf "$out/wheelhouse" "$out/release.json" "$out/requirements.lock"
  mv "$wheelhouse" "$out/wheelhouse"
  cp "$app/requirements.lock" "$out/requirements.lock"
  "$venv/bin/python" - "$out/release.json" "$version" "$release_id" "$wheel" <<'PY'
import json
import sys

path, version, release_id, wheel = sys.argv[1:]
release = {"name": "django-sample-app", "version": version, "release_id": release_id, "wheel": wheel}
with open(path, "w", encoding="utf-8") as fh:
    json.dump(release, fh, indent=2)
    fh.write("\n")
PY
  say "release $release_id -> $out ($(find "$out/wheelhouse" -name '*.whl' | wc -l) wheels)"
}

case "$mode" in
  venv) ensure_venv ;;
  relock) relock ;;
  build)
    ensure_venv
    build
    ;;
esac
