"""Where the testbed finds the repository and keeps its downloads and builds."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """Return the git-ignored cache root (.cache/ at the repo root).

    Overridable with MYSYSDIG_CACHE_DIR so scripts/setup.sh and the Python side
    always agree on one location.
    """
    override = os.environ.get("MYSYSDIG_CACHE_DIR")
    return Path(override) if override else REPO_ROOT / ".cache"
