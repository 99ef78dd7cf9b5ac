"""``make run`` refuses a session-cookie key too short to sign with, in plain words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_refuses_a_short_secret_key(tmp_path: Path) -> None:
    launched = subprocess.run(
        [sys.executable, "-m", "dashboard.launch"],
        cwd=ROOT,
        env={
            **os.environ,
            "OUTCOMES_DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}",
            "OUTCOMES_SECRET_KEY": "too short",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert launched.returncode == 1
    assert "cannot start" in launched.stderr and "OUTCOMES_SECRET_KEY" in launched.stderr
    assert "too short" not in launched.stderr + launched.stdout  # the key is never echoed
    assert "Traceback" not in launched.stderr
