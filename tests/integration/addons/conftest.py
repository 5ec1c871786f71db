"""The addon manifest helpers of tests/unit/addons, for tests that run real tools on them."""

from __future__ import annotations

import sys
from pathlib import Path

# --import-mode=importlib puts no test folder on sys.path; the helpers live beside the unit tests.
sys.path[:0] = [str(Path(__file__).resolve().parents[2] / "unit" / "addons")]
