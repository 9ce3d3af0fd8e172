#!/usr/bin/env python3
"""Can this host open a TCP connection to its database? Prints one line, never a secret.

Reads DB_HOST / DB_PORT (or the host and port of DATABASE_URL) from the env files given as
arguments, in the order the app's unit loads them (a later file's value wins; a missing
file after the first is skipped, like systemd's `EnvironmentFile=-`); prints "reachable
host:port", "unreachable host:port (<error>)" or why it could not tell.
"""

import socket
import sys
from urllib.parse import urlsplit


def main() -> int:
    values = {}
    for position, path in enumerate(sys.argv[1:]):
        try:
            with open(path, encoding="utf-8") as env:
                for line in env:
                    key, sep, value = line.strip().partition("=")
                    if sep and key in {"DB_HOST", "DB_PORT", "DATABASE_URL"}:
                        values[key] = value.strip().strip("'\"")
        except FileNotFoundError:
            if position == 0:
                print(f"cannot read the env file {path}: it does not exist")
                return 0
        except OSError as exc:
            print(f"cannot read the env file {path}: {exc.strerror}")
            return 0
    host, port = values.get("DB_HOST"), values.get("DB_PORT", "5432")
    if not host and values.get("DATABASE_URL"):
        url = urlsplit(values["DATABASE_URL"])
        host, port = url.hostname, str(url.port or 5432)
    if not host:
        print("no DB_HOST or DATABASE_URL in the env file")
        return 0
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            print(f"reachable {host}:{port}")
    except OSError as exc:
        print(f"unreachable {host}:{port} ({exc.__class__.__name__}: {exc.strerror or exc})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
