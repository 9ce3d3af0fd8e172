#!/usr/bin/python3
"""AWS CLI stand-in for the user data test (the containers cannot reach moto on the
controller's loopback): answers the two calls the user data makes, from fixtures the
test read out of moto, and refuses anything else, as an instance role limited to this
app's parameters and secret would."""

import json
import sys

args = sys.argv[1:]


def opt(name: str) -> str:
    return args[args.index(name) + 1] if name in args else ""


def refuse(why: str) -> None:
    print(f"An error occurred (AccessDeniedException): {why}", file=sys.stderr)
    sys.exit(254)


with open("/run/fake-aws/fixtures.json") as handle:
    fixtures = json.load(handle)
if opt("--region") != fixtures["region"]:
    refuse(f"wrong region {opt('--region')!r}")
if args[:2] == ["ssm", "get-parameters-by-path"]:
    if opt("--path") != fixtures["path"] + "/" or "--recursive" not in args:
        refuse(f"no access to {opt('--path')!r} (recursive: {'--recursive' in args})")
    if opt("--query") != "Parameters[].{Name: Name, Value: Value}" or opt("--output") != "json":
        sys.exit(f"fake aws: query/output not emulated: {opt('--query')} {opt('--output')}")
    print(json.dumps(fixtures["parameters"]))
elif args[:2] == ["secretsmanager", "get-secret-value"]:
    secret = fixtures["secrets"].get(opt("--secret-id"))
    if secret is None:
        refuse(f"no access to secret {opt('--secret-id')!r}")
    if opt("--query") != "SecretString" or opt("--output") != "text":
        sys.exit(f"fake aws: query/output not emulated: {opt('--query')} {opt('--output')}")
    print(secret)
else:
    sys.exit(f"fake aws: unexpected call {args}")
