"""`make run` (deploy/local/run.py): starts everything, refuses a second start, stops with no process left."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from motcua.devtools.testing_messages import SmtpCapture

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


def _env(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {**os.environ, "MOTCUA_VAR": str(tmp_path / "var"), "MOTCUA_FREE_PORTS": "1", "PYTHONUNBUFFERED": "1"}
    for variable in ("MONGODB_URI", "KAFKA_BOOTSTRAP_SERVERS", "SMTP_HOST", "SMTP_PORT"):
        env.pop(variable, None)
    return {**env, **variables}


def _make_run(env: dict[str, str]) -> subprocess.Popen[str]:
    """`make run`'s program, its output read line by line."""
    return subprocess.Popen(
        [sys.executable, "deploy/local/run.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.timeout(300)
def test_make_run_starts_the_platform_refuses_a_second_start_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    env = _env(tmp_path)
    first = _make_run(env)
    try:
        output = _wait_for_line(first, "Press Ctrl-C to stop everything.", timeout=240)
        text = "\n".join(output)
        assert "mongodb" in text
        assert "kafka" in text
        assert "smtp sink" in text
        children = psutil.Process(first.pid).children(recursive=True)
        assert len(children) >= 4  # the three local servers and at least one service

        second = subprocess.run(
            [sys.executable, "deploy/local/run.py"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
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


@pytest.mark.timeout(300)
def test_smtp_port_alone_names_an_smtp_server_on_this_machine_and_the_platform_uses_it(tmp_path: Path) -> None:
    with SmtpCapture() as smtp:
        env = _env(tmp_path, SMTP_PORT=str(smtp.port))
        run = _make_run(env)
        try:
            text = "\n".join(_wait_for_line(run, "Press Ctrl-C to stop everything.", timeout=240))
            assert f"127.0.0.1:{smtp.port}   (your SMTP server)" in text
            assert "smtp sink" not in text
            assert not (tmp_path / "var" / "log" / "smtp.log").exists()  # no sink was started
            run.send_signal(signal.SIGINT)
            run.wait(timeout=60)
            assert run.returncode == 0
        finally:
            if run.poll() is None:
                run.kill()


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("GATEWAY_PORT", "eighty", "GATEWAY_PORT='eighty' is not a port number"),
        ("SMTP_PORT", "99999", "SMTP_PORT='99999' is not a port number"),
        ("SMTP_PORT", "closed", "SMTP_PORT: nothing answers at 127.0.0.1:"),
        ("SMTP_HOST", "192.0.2.1", "SMTP_HOST: nothing answers at 192.0.2.1:1025"),
        ("MONGODB_URI", "closed", "MONGODB_URI: no MongoDB server answers"),
        ("MONGODB_URI", "postgres://127.0.0.1", "MONGODB_URI is not a MongoDB connection string"),
        ("KAFKA_BOOTSTRAP_SERVERS", "closed", "KAFKA_BOOTSTRAP_SERVERS: no broker answers"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost", "KAFKA_BOOTSTRAP_SERVERS='localhost': 'localhost' is not host:port"),
        ("PUBLIC_BASE_URL", "motcua.example.vn", "PUBLIC_BASE_URL='motcua.example.vn' is not an http(s) address"),
    ],
)
def test_a_bad_override_stops_make_run_before_anything_starts_with_one_line_naming_it(
    tmp_path: Path, variable: str, value: str, said: str
) -> None:
    if value == "closed":
        port = _closed_port()
        value = {
            "SMTP_PORT": port,
            "MONGODB_URI": f"mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=1000",
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
        }[variable]
    run = subprocess.run(
        [sys.executable, "deploy/local/run.py"],
        cwd=ROOT,
        env=_env(tmp_path, **{variable: value}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("Cannot start: ")
    assert said in lines[0]
    assert "Starting Mot Cua" not in run.stdout
    assert not (tmp_path / "var" / "log").exists()  # nothing was started
