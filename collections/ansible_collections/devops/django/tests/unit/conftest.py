"""Make `ansible_collections.devops.django` importable when plain pytest runs these tests.

ansible-test units sets the collection up itself; from the repository root, pytest needs the
collections directory on sys.path (ansible_collections is a namespace package, so the other
collections installed with the `ansible` package stay importable beside it).
"""

from __future__ import annotations

import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[5]
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
