"""The committed sample under data/01_raw is what scripts/make_sample_data.py writes from scripts/sample_data/."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RAW = REPO_ROOT / "data" / "01_raw"


def test_script_regenerates_the_committed_sample_byte_for_byte(tmp_path):
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "make_sample_data.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    assert written == sorted(p.relative_to(RAW) for p in RAW.rglob("*.csv"))
    assert len(written) == 6
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, RAW, [str(p) for p in written], shallow=False)
    assert mismatch == [] and errors == []
