"""Copy signal-ready.sh into compute.yaml's user data, between the SIGNAL_READY_EOF markers.

Run after editing the script: `python cloudformation/scripts/embed_user_data.py`.
tests/cfn/test_templates.py fails while the two copies differ.
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "signal-ready.sh"
TEMPLATE = HERE.parent / "compute.yaml"
MARKER = "SIGNAL_READY_EOF"


def embed(template_text: str, script_text: str) -> str:
    pattern = re.compile(
        rf"^(?P<indent>[ ]*)cat > /usr/local/sbin/signal-ready <<'{MARKER}'\n"
        rf".*?^(?P=indent){MARKER}\n",
        re.MULTILINE | re.DOTALL,
    )
    match = pattern.search(template_text)
    if not match:
        raise SystemExit(f"{TEMPLATE}: no signal-ready heredoc found")
    indent = match.group("indent")
    body = "".join(
        (indent + line if line.strip() else "\n") if line.endswith("\n") else indent + line
        for line in script_text.splitlines(keepends=True)
    )
    block = f"{indent}cat > /usr/local/sbin/signal-ready <<'{MARKER}'\n{body}{indent}{MARKER}\n"
    return template_text[: match.start()] + block + template_text[match.end() :]


def main() -> None:
    TEMPLATE.write_text(embed(TEMPLATE.read_text(), SCRIPT.read_text()))


if __name__ == "__main__":
    main()
