"""`make run` (deploy/local/run.py): starts everything, refuses a second start, stops with no process left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _wait_for_line(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line.rstrip())
        if marker in line:
            return seen
    raise AssertionError(f"never printed {marker!r}; output was:\n" + "\n".join(seen))


@pytest.mark.timeout(300)
def test_make_run_starts_the_platform_refuses_a_second_start_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "MOTCUA_VAR": str(tmp_path / "var"), "MOTCUA_FREE_PORTS": "1", "PYTHONUNBUFFERED": "1"}
    for variable in ("MONGODB_URI", "KAFKA_BOOTSTRAP_SERVERS", "SMTP_HOST", "SMTP_PORT"):
        env.pop(variable, None)
    first = subprocess.Popen(
        [sys.executable, "deploy/local/run.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = _wait_for_line(first, "Press Ctrl-C to stop everything.", timeout=240)
        text = "\n".join(output)
        assert "mongodb" in text
        assert "kafka" in text
        assert "smtp sink" in text
        children = psutil.Process(first.pid).children(recursive=True)
        assert len(children) >= 4  # the three local servers and at least one service

        second = subprocess.run(
            [sys.executable, "deploy/local/run.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
            check=False,
        )
        assert second.returncode == 0
        assert "already running" in second.stdout

        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
        assert first.returncode == 0
        time.sleep(0.5)
        alive = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert alive == [], f"left behind: {[p.cmdline() for p in alive]}"
        assert not (tmp_path / "var" / "run" / "platform.pid").exists()
    finally:
        if first.poll() is None:
            first.kill()
