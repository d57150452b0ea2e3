"""The pinned local servers, run as processes for `make run`, the tests and the benches.

Kafka: Apache Kafka itself (the official broker jars, pinned in `deploy/local/kafka/pom.xml`, fetched by
Maven), one node in KRaft combined mode, its log on disk. MongoDB protocol: SecantusDB's Rust server
`secantusd-rs` (crate `secantus-mdb`, pinned below), built once by `cargo install --locked`. Both are
fetched or built once per machine into a cache keyed by version (`~/.cache/motcua/`, or
`MOTCUA_CACHE_DIR`), so every clone reuses them: `python -m motcua.devtools.devservers build`.
Development and test tooling only: product code never imports this module.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[5]
KAFKA_DIR = ROOT / "deploy" / "local" / "kafka"
SECANTUS_CRATE = "secantus-mdb"
SECANTUS_VERSION = "0.5.3-beta.196"  # a pre-release: cargo installs it only when named exactly
KAFKA_HEAP = "512m"


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


# --- where the pinned servers live, and building them once ---------------------------------------


def cache_dir() -> Path:
    """Per machine, shared by every clone: `MOTCUA_CACHE_DIR`, else `$XDG_CACHE_HOME/motcua`, else `~/.cache/motcua`."""
    if explicit := os.environ.get("MOTCUA_CACHE_DIR"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "motcua"


def kafka_version() -> str:
    """The Kafka release the pom pins (one place for the number)."""
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", (KAFKA_DIR / "pom.xml").read_text())
    if found is None:
        raise RuntimeError(f"no <kafka.version> in {KAFKA_DIR / 'pom.xml'}")
    return found.group(1).strip()


def kafka_libs() -> Path:
    return cache_dir() / f"kafka-{kafka_version()}" / "libs"


def secantusd_binary() -> Path:
    return cache_dir() / f"{SECANTUS_CRATE}-{SECANTUS_VERSION}" / "bin" / "secantusd-rs"


@contextlib.contextmanager
def _cache_lock() -> Iterator[None]:
    """One build at a time per machine (two clones may run `make test` together)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with (cache_dir() / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _tool(name: str, debian_package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is missing (Debian: apt-get install {debian_package})")
    return found


def _say(message: str) -> None:
    print(f"[servers] {message}", flush=True)  # noqa: T201 - progress of `make run` / `make test`


def build_kafka() -> Path:
    """Fetch the pinned broker jars with Maven (once); the folder of jars."""
    libs = kafka_libs()
    if (libs / ".complete").exists():
        return libs
    with _cache_lock():
        if (libs / ".complete").exists():
            return libs
        staging = libs.with_name("libs.partial")
        shutil.rmtree(staging, ignore_errors=True)
        _say(f"fetching Apache Kafka {kafka_version()} with Maven into {libs} (once per machine) …")
        subprocess.run(  # noqa: S603 - Maven, our own pom
            [
                _tool("mvn", "maven"),
                "-B",
                "-ntp",
                "-f",
                str(KAFKA_DIR / "pom.xml"),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            check=True,
        )
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        (libs / ".complete").touch()
        _say(f"Apache Kafka {kafka_version()}: {len(list(libs.glob('*.jar')))} jars")
    return libs


def build_secantus() -> Path:
    """Build the pinned `secantusd-rs` with cargo (once; a few minutes: it compiles WiredTiger)."""
    binary = secantusd_binary()
    if binary.exists():
        return binary
    with _cache_lock():
        if binary.exists():
            return binary
        root = binary.parent.parent
        staging = root.with_name(root.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        _say(
            f"building {SECANTUS_CRATE} {SECANTUS_VERSION} (secantusd-rs) with cargo into {root} "
            "(once per machine, several minutes: it compiles WiredTiger) …"
        )
        started = time.monotonic()
        # --ignore-rust-version: the crate declares rustc 1.98, the machines' stable toolchain is 1.95, and the
        # crate builds and passes our suite with it (checked when this pin was chosen).
        subprocess.run(  # noqa: S603 - cargo, a pinned crate
            [
                _tool("cargo", "cargo"),
                "install",
                "--locked",
                "--ignore-rust-version",
                "--version",
                SECANTUS_VERSION,
                "--root",
                str(staging),
                SECANTUS_CRATE,
            ],
            check=True,
        )
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
        _say(f"secantusd-rs built in {time.monotonic() - started:.0f} s")
    return binary


def build() -> None:
    """Everything the local stack needs, fetched or built once per machine."""
    build_kafka()
    build_secantus()


# --- the server processes ---------------------------------------------------------------------------


def secantus_command(port: int, data_dir: Path) -> list[str]:
    binary = secantusd_binary()
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: run `make test` or `python -m motcua.devtools.devservers build`")
    # --sync-on-commit: a commit survives SIGKILL, as MongoDB's journal makes it
    return [
        str(binary),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(data_dir),
        "--log-level",
        "WARNING",
        "--sync-on-commit",
        "--cache-size",
        "512M",
        "--log-file-max",
        "32MB",
    ]


def kafka_properties(port: int, controller_port: int, log_dir: Path) -> str:
    """One node, broker and controller, as production runs it but for replication: no topic auto-creation."""
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={log_dir}",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=4",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "num.network.threads=2",
            "num.io.threads=4",
            "num.recovery.threads.per.data.dir=2",
            # every test makes its own topics: small preallocated indexes keep thousands of partitions cheap
            "log.index.size.max.bytes=1048576",
            "log.segment.bytes=67108864",
            "",
        ]
    )


def _new_cluster_id() -> str:
    """Kafka's own form: a random UUID, URL-safe base64 without padding (never starting with '-')."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java:
        raise RuntimeError("java is missing: install OpenJDK 17 or newer (Debian: openjdk-17-jre-headless)")
    return java


def kafka_command(properties: Path, libs: Path) -> list[str]:
    return [
        _java(),
        "-Xms128m",
        f"-Xmx{KAFKA_HEAP}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.yaml'}",
        "-cp",
        f"{libs}/*",
        "kafka.Kafka",
        str(properties),
    ]


@dataclass
class ServerProcess:
    """One local server: started, stopped, killed and restarted by PID, on a fixed port."""

    name: str
    command: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[], None] | None = None  # run before every launch (Kafka formats its storage once)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_listening(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it to listen (start several, then wait for each)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.prepare is not None:
            self.prepare()
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own pinned binaries
            self.command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )

    def wait_listening(self, timeout: float = 60.0) -> None:
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
    return ServerProcess("mongodb (secantusd-rs)", secantus_command(port, data_dir), port, log_dir / "mongodb.log")


def kafka_server(port: int, data_dir: Path, log_dir: Path) -> ServerProcess:
    """Apache Kafka on `port`, its log under `data_dir` (formatted on the first start, kept across restarts)."""
    libs = kafka_libs()
    if not (libs / ".complete").exists():
        raise RuntimeError(f"{libs} is missing: run `make test` or `python -m motcua.devtools.devservers build`")
    data_dir.mkdir(parents=True, exist_ok=True)
    properties = data_dir / "server.properties"
    log_path = log_dir / "kafka.log"
    # the controller's port is chosen once, so a restart finds the same quorum
    properties.write_text(kafka_properties(port, free_port(), data_dir / "log"))

    def format_storage() -> None:
        if (data_dir / "log" / "meta.properties").exists():
            return
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as out:
            subprocess.run(  # noqa: S603 - the pinned broker's own storage tool
                [
                    _java(),
                    "-Xmx256m",
                    f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.yaml'}",
                    "-cp",
                    f"{libs}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    f"--cluster-id={_new_cluster_id()}",
                    "-c",
                    str(properties),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=120,
            )

    return ServerProcess(
        "kafka (apache kafka)", kafka_command(properties, libs), port, log_path, prepare=format_storage
    )


# --- the whole platform, as `make run` starts it -------------------------------------------------

SERVICES: tuple[tuple[str, int, str], ...] = (
    ("identity", 8001, "IDENTITY_PORT"),
    ("catalogue", 8002, "CATALOGUE_PORT"),
    ("submission", 8003, "SUBMISSION_PORT"),
    ("notification", 8004, "NOTIFICATION_PORT"),
    ("webhooks", 8005, "WEBHOOKS_PORT"),
    ("gateway", 8000, "GATEWAY_PORT"),
)
DEV_ADMIN_EMAIL = "admin@motcua.example.vn"
PAYMENT_PROVIDER_PORT = 8009  # the local VNPAY gateway (`PAYMENT_PROVIDER_URL` names another instead)
LOCAL_VNPAY_SECRET = "motcua-local-vnpay-hash-secret-dev"  # public: the local gateway's, never a real terminal's
LOCAL_VNPAY_TMN_CODE = "MOTCUA01"
DEV_ADMIN_PASSWORD = "Quản-trị-Một-Cửa-2026"


def available_services() -> list[str]:
    """The services whose package exists in this checkout (the platform grows one service at a time)."""
    return [
        name
        for name, _, _ in SERVICES
        if importlib.util.find_spec(f"motcua.{name}") is not None
        and importlib.util.find_spec(f"motcua.{name}.__main__") is not None
    ]


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
            # result documents: a development CA and per-agency certificates, made on first use (issue 20)
            "RESULT_SIGNING_DEV_CA_DIR": str(var / "signing"),
            "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": DEV_ADMIN_EMAIL,
            "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": DEV_ADMIN_PASSWORD,
            # a developer's machine: each SMS, its code included, goes to var/sms.jsonl (never to a log)
            "SMS_PROVIDER": "log",
            "SMS_LOG_FILE": str(var / "sms.jsonl"),
            # a developer's machine: webhooks and SMS may go to plain http on this machine, the log SMS provider
            "DEPLOYMENT_ENVIRONMENT": "development",
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
            platform.servers["kafka"] = kafka_server(port, var / "kafka", logs)
            env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
        if "SMTP_HOST" in overrides or "SMTP_PORT" in overrides:
            # either alone names an external server; the other part takes its default
            env.setdefault("SMTP_HOST", "127.0.0.1")
            env.setdefault("SMTP_PORT", "1025")
        else:
            port = free_port() if free_ports else 1025
            platform.servers["smtp"] = ServerProcess(
                "smtp sink",
                [sys.executable, "-m", "motcua.devtools.mailsink", "--port", str(port), "--dir", str(var / "mail")],
                port,
                logs / "smtp.log",
            )
            env["SMTP_HOST"], env["SMTP_PORT"] = "127.0.0.1", str(port)
        if "PAYMENT_PROVIDER_URL" not in overrides:
            # the local VNPAY gateway (docs/payments.md): its page, its signed IPN to the gateway, querydr, refunds
            port = free_port() if free_ports else PAYMENT_PROVIDER_PORT
            env["PAYMENT_PROVIDER_URL"] = f"http://127.0.0.1:{port}"
            env.setdefault("VNPAY_HASH_SECRET", LOCAL_VNPAY_SECRET)
            env.setdefault("VNPAY_TMN_CODE", LOCAL_VNPAY_TMN_CODE)
            provider_env = {
                **env,
                "PAYMENT_PROVIDER_PORT": str(port),
                "PAYMENT_IPN_URL": env["PUBLIC_BASE_URL"].rstrip("/") + "/v1/payments/vnpay/ipn",
            }
            platform.servers["payment provider"] = ServerProcess(
                "payment provider",
                [sys.executable, "-m", "motcua.devtools.payment_provider"],
                port,
                logs / "payment-provider.log",
                env=provider_env,
            )
        for server in platform.servers.values():
            server.launch()
        # the services start alongside (each retries until its database and broker answer): the JVM's start
        # and the services' imports overlap instead of adding up
        for name in services if services is not None else available_services():
            port = int(next(env[v] for n, _, v in SERVICES if n == name))
            # one process per service here: its name is its static Kafka group member id, so a restart resumes at once
            process = ServerProcess(
                name,
                [sys.executable, "-m", f"motcua.{name}"],
                port,
                logs / f"{name}.log",
                env={"KAFKA_GROUP_INSTANCE_ID": f"{name}-local", **env},
            )
            platform.services[name] = process
            process.launch()  # all at once: each takes seconds to import and start
        for server in platform.servers.values():
            server.wait_listening()
        for process in platform.services.values():
            process.wait_listening(timeout=120)
        for name in platform.services:
            _wait_ready(f"{platform.url(name)}/readyz", ready_timeout)
    except BaseException:
        platform.stop()
        raise
    return platform


def _main(argv: list[str]) -> int:
    if argv[1:] == ["build"]:
        build()
        return 0
    print("usage: python -m motcua.devtools.devservers build", file=sys.stderr)  # noqa: T201
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
