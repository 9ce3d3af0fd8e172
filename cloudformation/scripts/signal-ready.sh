#!/bin/sh
# Wait until this host's /ready/ answers 200, then tell CloudFormation: cfn-signal -e 0.
# At the deadline (or on any error) signal failure instead: -e 1. Never stay silent.
# Embedded verbatim in compute.yaml user data (tests/cfn checks the copy), so it uses
# no dollar-brace expansions: Fn::Sub would take them for its own.
#
# Environment: CFN_STACK, CFN_RESOURCE, CFN_REGION (required); READY_URL
# (http://127.0.0.1/ready/), READY_DEADLINE_SECONDS (600), READY_POLL_SECONDS (5),
# CFN_SIGNAL (cfn-signal), CFN_SIGNAL_URL (optional --url, e.g. a VPC endpoint).
set -u

[ -n "$(printenv READY_URL)" ] || READY_URL=http://127.0.0.1/ready/
[ -n "$(printenv READY_DEADLINE_SECONDS)" ] || READY_DEADLINE_SECONDS=600
[ -n "$(printenv READY_POLL_SECONDS)" ] || READY_POLL_SECONDS=5
[ -n "$(printenv CFN_SIGNAL)" ] || CFN_SIGNAL=cfn-signal
[ -n "$(printenv CFN_SIGNAL_URL)" ] || CFN_SIGNAL_URL=
signalled=0
status=none

log() {
    echo "signal-ready: $*" >&2
    command -v logger >/dev/null 2>&1 && logger -t signal-ready -- "$*"
    return 0
}

signal() {
    # $1 = exit code to report (0 ready, 1 not ready), $2 = reason
    signalled=1
    attempt=1
    while [ "$attempt" -le 3 ]; do
        if [ -n "$CFN_SIGNAL_URL" ]; then
            "$CFN_SIGNAL" -e "$1" --reason "$2" --stack "$CFN_STACK" --resource "$CFN_RESOURCE" \
                --region "$CFN_REGION" --url "$CFN_SIGNAL_URL" && return 0
        else
            "$CFN_SIGNAL" -e "$1" --reason "$2" --stack "$CFN_STACK" --resource "$CFN_RESOURCE" \
                --region "$CFN_REGION" && return 0
        fi
        log "cfn-signal attempt $attempt failed"
        attempt=$((attempt + 1))
        sleep 2
    done
    return 1
}

for name in CFN_STACK CFN_RESOURCE CFN_REGION; do
    if [ -z "$(printenv "$name")" ]; then
        log "$name is not set"
        exit 2  # nothing to signal to: the CreationPolicy timeout reports the failure
    fi
done

on_exit() {
    rc=$?
    if [ "$signalled" -eq 0 ]; then
        log "exiting (rc=$rc) before a decision: signalling failure"
        signal 1 "signal-ready exited unexpectedly (rc=$rc)"
    fi
}
trap on_exit EXIT
trap 'exit 1' INT TERM HUP

http_status() {
    # Prints the HTTP status of READY_URL (000 when there is no answer); $1 = max seconds.
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null -w '%{http_code}' --max-time "$1" "$READY_URL" || true
    else
        python3 - "$READY_URL" "$1" <<'PY' || echo 000
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as resp:
        print(resp.status)
except urllib.error.HTTPError as err:
    print(err.code)
except Exception:
    print("000")
PY
    fi
}

start=$(date +%s)
deadline=$((start + READY_DEADLINE_SECONDS))
log "waiting up to $READY_DEADLINE_SECONDS s for 200 from $READY_URL"
while :; do
    now=$(date +%s)
    left=$((deadline - now))
    if [ "$left" -le 0 ]; then
        log "not ready after $READY_DEADLINE_SECONDS s (last status $status)"
        signal 1 "$READY_URL not 200 within $READY_DEADLINE_SECONDS s (last status $status)"
        exit 1
    fi
    probe_timeout=5
    [ "$left" -lt "$probe_timeout" ] && probe_timeout=$left
    status=$(http_status "$probe_timeout")
    if [ "$status" = "200" ]; then
        log "ready after $((now - start)) s"
        signal 0 "$READY_URL answered 200"
        exit $?
    fi
    now=$(date +%s)
    left=$((deadline - now))
    pause=$READY_POLL_SECONDS
    [ "$left" -lt "$pause" ] && pause=$left
    [ "$pause" -gt 0 ] && sleep "$pause"
done
