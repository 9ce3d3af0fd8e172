"""Copy a release artifact and break its app wheel: the URLconf imports a missing module.

    python3 break_release.py SRC_ARTIFACT_DIR DEST_ARTIFACT_DIR

The wheel's RECORD is rewritten so pip installs it; release.json gets a new release id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
import zipfile
from pathlib import Path

TARGET = "sampleapp/urls.py"
BREAKAGE = b"import sampleapp_missing_module  # noqa: F401  deliberately broken release\n"


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def break_wheel(src: Path, dest: Path) -> None:
    with zipfile.ZipFile(src) as zin:
        files = {info.filename: zin.read(info) for info in zin.infolist()}
    files[TARGET] = BREAKAGE + files[TARGET]
    record_name = next(name for name in files if name.endswith(".dist-info/RECORD"))
    lines = []
    for line in files[record_name].decode().splitlines():
        name = line.split(",", 1)[0]
        if name == TARGET:
            lines.append(f"{name},{record_hash(files[name])},{len(files[name])}")
        else:
            lines.append(line)
    files[record_name] = ("\n".join(lines) + "\n").encode()
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in files.items():
            zout.writestr(name, data)


def main(src_dir: str, dest_dir: str) -> None:
    src, dest = Path(src_dir), Path(dest_dir)
    release = json.loads((src / "release.json").read_text())
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest)
    break_wheel(src / "wheelhouse" / release["wheel"], dest / "wheelhouse" / release["wheel"])
    release["release_id"] = f"{release['version']}-broken"
    (dest / "release.json").write_text(json.dumps(release, indent=2) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
