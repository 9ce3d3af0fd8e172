#!/usr/bin/env python3
"""The commands README.md, scripts/local.sh and the plays print, and a check of their names.

  python scripts/check_readme_commands.py          list every printed command, by source
  python scripts/check_readme_commands.py --check  fail when one names a make target,
                                                   playbook, inventory or script that is missing

tests/readme runs these commands in a clean environment (no AWS_* variables) against a
moto server; tests/stack runs the local-stack ones against the stack `make local` starts.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)\s*$")
SHELL_LANGS = {"sh", "bash", "shell", "console"}
# A line of local.sh's summary that tells the user what to run: "  Release:  <command>".
SUMMARY_COMMAND = re.compile(r"^\s+[A-Z][\w ]*:\s+((?:ansible-playbook |make |\. )\S.*)$")
# The plays print `ansible-playbook -i {{ inventory_dir | relpath(...) }} playbooks/X.yml`.
PLAY_COMMAND = re.compile(
    r"ansible-playbook -i \{\{ inventory_dir \| relpath\([^}]*\}\} (playbooks/\S+\.yml)"
)


@dataclass(frozen=True)
class Block:
    """One fenced shell block of a Markdown file: the heading above it and its commands."""

    source: str
    heading: str
    commands: tuple[str, ...]

    @property
    def script(self) -> str:
        return "\n".join(self.commands)

    @property
    def uses_local_stack(self) -> bool:
        return any("inventories/local" in c for c in self.commands)


def _strip_comment(line: str) -> str:
    """The line without a trailing `# comment` (shell comments in these docs need a space)."""
    return re.sub(r"(^|\s)#.*$", "", line).rstrip()


def commands_of(lines: list[str]) -> tuple[str, ...]:
    """Shell commands of a block: comments dropped, `\\` continuations joined."""
    out: list[str] = []
    pending = ""
    for raw in lines:
        line = _strip_comment(raw)
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line = (pending + line.strip()).strip()
        pending = ""
        if line:
            out.append(re.sub(r"\s+", " ", line))
    return tuple(out)


def markdown_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    heading, lang, body, inside = "", "", [], False
    for line in path.read_text().splitlines():
        fence = FENCE.match(line)
        if fence and not inside:
            inside, lang, body = True, fence.group(1), []
        elif fence and inside:
            inside = False
            if lang in SHELL_LANGS:
                blocks.append(Block(str(path.relative_to(REPO)), heading, commands_of(body)))
        elif inside:
            body.append(line)
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
    return blocks


def readme_blocks() -> list[Block]:
    return markdown_blocks(REPO / "README.md")


def local_sh_commands() -> tuple[str, ...]:
    """What scripts/local.sh tells the user to run when the stack is up (its summary)."""
    text = (REPO / "scripts" / "local.sh").read_text()
    summary = re.search(r"^summary\(\) \{\n(.*?)^\}", text, re.M | re.S)
    if not summary:
        raise SystemExit("scripts/local.sh: no summary() function")
    return tuple(
        m.group(1).strip() for m in map(SUMMARY_COMMAND.match, summary.group(1).splitlines()) if m
    )


def play_commands() -> tuple[str, ...]:
    """`ansible-playbook` commands the plays print in their messages, as they read when
    run on the local inventory (the inventory is the one the play ran with)."""
    found: list[str] = []
    for path in sorted((REPO / "playbooks").rglob("*.yml")):
        for line in path.read_text().splitlines():
            if not line.lstrip().startswith("#"):
                found += [
                    f"ansible-playbook -i inventories/local {m}" for m in PLAY_COMMAND.findall(line)
                ]
    return tuple(found)


def _make_targets() -> set[str]:
    targets: set[str] = set()
    for mk in [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]:
        targets |= set(re.findall(r"^([a-zA-Z0-9_-]+):", mk.read_text(), re.M))
    return targets


def name_problems(command: str) -> list[str]:
    """What a command names that does not exist in this repository (empty: all found)."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return [f"{command!r}: {exc}"]
    problems: list[str] = []
    tool, args = argv[0], argv[1:]
    if tool == "make":
        problems += [f"make target {t!r} missing" for t in args if t not in _make_targets()]
    elif tool in {".", "source"}:
        if not (REPO / args[0]).exists():
            problems.append(f"{args[0]} missing")
    elif tool in {"ansible-playbook", "ansible-inventory"}:
        inventories = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-i"]
        problems += [f"inventory {i} missing" for i in inventories if not (REPO / i).exists()]
        playbooks = [a for a in args if a.endswith(".yml") and a not in inventories]
        problems += [f"playbook {p} missing" for p in playbooks if not (REPO / p).is_file()]
    elif tool.startswith("scripts/"):
        script = REPO / tool
        if not script.is_file() or not script.stat().st_mode & 0o111:
            problems.append(f"{tool} missing or not executable")
    return [f"{command!r}: {p}" for p in problems]


def all_commands() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for block in readme_blocks():
        key = f"README.md, {block.heading}"
        out[key] = out.get(key, ()) + block.commands
    out["scripts/local.sh summary"] = local_sh_commands()
    out["playbooks (messages)"] = play_commands()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check the names they use")
    args = parser.parse_args()
    problems: list[str] = []
    for source, commands in all_commands().items():
        if not args.check:
            print(f"{source}:")
            print("".join(f"  {c}\n" for c in commands), end="")
        for command in commands:
            problems += name_problems(command)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
