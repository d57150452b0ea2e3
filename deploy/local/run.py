"""`make run`: the whole platform on this machine, without Docker.

Starts the pinned MongoDB- and Kafka-protocol servers and the SMTP sink (each unless its variable
points elsewhere), then every service; waits until each is ready; prints the addresses; Ctrl-C
stops everything by PID. Data lives under var/.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from motcua.devtools import devservers

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("MOTCUA_VAR") or ROOT / "var")  # tests run a second platform elsewhere
PIDFILE = VAR / "run" / "platform.pid"
FREE_PORTS = os.environ.get("MOTCUA_FREE_PORTS") == "1"
OVERRIDABLE = (
    "MONGODB_URI",
    "KAFKA_BOOTSTRAP_SERVERS",
    "SMTP_HOST",
    "SMTP_PORT",
    "GATEWAY_PORT",
    "IDENTITY_PORT",
    "CATALOGUE_PORT",
    "SUBMISSION_PORT",
    "NOTIFICATION_PORT",
    "PUBLIC_BASE_URL",
    "KAFKA_TOPIC_PREFIX",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "SMS_PROVIDER",
    "SMS_WEBHOOK_URL",
    "MAIL_FROM",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_STARTTLS",
    "IDENTITY_BOOTSTRAP_ADMIN_EMAIL",
    "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD",
    "IDENTITY_SIGNING_KEY_FILE",
    "IDENTITY_TOTP_ENCRYPTION_KEYS",
    "EVENT_SECRET_KEYS",
    "MONGODB_DB",
    "WEBHOOKS_PORT",
    "WEBHOOKS_SECRET_KEYS",
    "PAYMENT_PROVIDER_URL",
    "VNPAY_TMN_CODE",
    "VNPAY_HASH_SECRET",
    "VNPAY_PAYMENT_URL",
    "VNPAY_API_URL",
)


# the servers `make run` starts itself unless their variable names another (SMTP_PORT stands for both SMTP parts)
LOCAL_SERVERS = (
    ("mongodb", 27017, "MONGODB_URI"),
    ("kafka", 9092, "KAFKA_BOOTSTRAP_SERVERS"),
    ("smtp sink", 1025, "SMTP_HOST"),
    ("payment provider", devservers.PAYMENT_PROVIDER_PORT, "PAYMENT_PROVIDER_URL"),
)
PORT_VARIABLES = ("SMTP_PORT", *(variable for _, _, variable in devservers.SERVICES))


def _port_problem(variable: str, value: str) -> str | None:
    if not value.isdigit() or not 0 < int(value) < 65536:
        return f"{variable}={value!r} is not a port number (1-65535)"
    return None


def _address_problem(variable: str, host: str, port: int) -> str | None:
    if not devservers.port_open(host, port, timeout=3.0):
        return f"{variable}: nothing answers at {host}:{port}"
    return None


def _mongodb_problem(uri: str) -> str | None:
    from pymongo import MongoClient
    from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError

    try:
        client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=3000, connect=False)
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        return f"MONGODB_URI is not a MongoDB connection string: {exc}"
    try:
        client.admin.command("ping")
    except PyMongoError:
        return f"MONGODB_URI: no MongoDB server answers at {uri}"
    finally:
        client.close()
    return None


def _kafka_problem(servers: str) -> str | None:
    addresses = []
    for server in (s.strip() for s in servers.split(",")):
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            return f"KAFKA_BOOTSTRAP_SERVERS={servers!r}: {server!r} is not host:port"
        addresses.append((host.strip("[]"), int(port)))
    if not any(devservers.port_open(host, port, timeout=3.0) for host, port in addresses):
        return f"KAFKA_BOOTSTRAP_SERVERS: no broker answers at {servers}"
    return None


def override_problems(overrides: dict[str, str]) -> list[str]:
    """What is wrong with the variables set, one line each, found before anything starts."""
    problems = [p for v in PORT_VARIABLES if v in overrides and (p := _port_problem(v, overrides[v]))]
    if problems:
        return problems
    if "SMTP_HOST" in overrides or "SMTP_PORT" in overrides:
        variable = "SMTP_HOST" if "SMTP_HOST" in overrides else "SMTP_PORT"
        host, port = overrides.get("SMTP_HOST", "127.0.0.1"), int(overrides.get("SMTP_PORT", "1025"))
        if problem := _address_problem(variable, host, port):
            problems.append(f"{problem} (SMTP_HOST/SMTP_PORT name an SMTP server to use instead of the local sink)")
    if "PUBLIC_BASE_URL" in overrides:
        url = urlsplit(overrides["PUBLIC_BASE_URL"])
        if url.scheme not in ("http", "https") or not url.hostname:
            problems.append(f"PUBLIC_BASE_URL={overrides['PUBLIC_BASE_URL']!r} is not an http(s) address")
    if "KAFKA_BOOTSTRAP_SERVERS" in overrides and (problem := _kafka_problem(overrides["KAFKA_BOOTSTRAP_SERVERS"])):
        problems.append(problem)
    if "MONGODB_URI" in overrides and (problem := _mongodb_problem(overrides["MONGODB_URI"])):
        problems.append(problem)
    return problems


def _busy_ports(overrides: dict[str, str]) -> list[str]:
    """The default ports of what `make run` would start that something else holds already."""
    if FREE_PORTS:
        return []
    local_servers = [(name, port, var) for name, port, var in LOCAL_SERVERS if var not in overrides]
    if "SMTP_PORT" in overrides:
        local_servers = [server for server in local_servers if server[0] != "smtp sink"]
    return [
        f"{name} port {port}"
        for name, port, var in (*devservers.SERVICES, *local_servers)
        if devservers.port_open("127.0.0.1", int(overrides.get(var, port)))
    ]


def _already_running() -> int | None:
    try:
        pid = int(PIDFILE.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _print_banner(platform: devservers.Platform) -> None:
    env = platform.env
    print("\nMot Cua is running:")
    for name in platform.services:
        print(f"  {name:<13} {platform.url(name)}   (API docs: {platform.url(name)}/docs)")
    print(f"  {'mongodb':<13} {env['MONGODB_URI']}")
    print(f"  {'kafka':<13} {env['KAFKA_BOOTSTRAP_SERVERS']}")
    if "smtp" in platform.servers:
        print(f"  {'smtp sink':<13} {env['SMTP_HOST']}:{env['SMTP_PORT']}   (mail kept in var/mail/)")
    else:
        print(f"  {'smtp':<13} {env['SMTP_HOST']}:{env['SMTP_PORT']}   (your SMTP server)")
    print(
        f"\n  bootstrap admin: {env['IDENTITY_BOOTSTRAP_ADMIN_EMAIL']}"
        " (password: IDENTITY_BOOTSTRAP_ADMIN_PASSWORD, see README)"
    )
    print("  SMS codes are written to var/log/notification.log (SMS_PROVIDER=log)")


def main() -> int:
    running = _already_running()
    if running is not None:
        print(
            f"Mot Cua is already running (pid {running}): open its gateway (http://127.0.0.1:8000/ by default) "
            f"or stop it with Ctrl-C in its terminal (or `kill {running}`)."
        )
        return 0
    overrides = {k: v for k, v in os.environ.items() if k in OVERRIDABLE and v}
    problems = override_problems(overrides)
    if problems:
        for problem in problems:
            print(f"Cannot start: {problem}", file=sys.stderr)
        return 2
    busy = _busy_ports(overrides)
    if busy:
        print(
            "Cannot start: something else already listens on "
            + ", ".join(busy)
            + ". Stop it, or choose other ports with GATEWAY_PORT, IDENTITY_PORT, … (see README)."
        )
        return 1
    PIDFILE.parent.mkdir(parents=True, exist_ok=True)
    PIDFILE.write_text(str(os.getpid()))
    stop = threading.Event()

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # while starting, any signal aborts the start-up cleanly
    print("Starting Mot Cua (logs in var/log/) …", flush=True)
    platform = None
    try:
        platform = devservers.start_platform(VAR, overrides, free_ports=FREE_PORTS)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        _print_banner(platform)
        print("\nPress Ctrl-C to stop everything.", flush=True)
        while not stop.wait(1.0):
            dead = [
                n
                for n, p in {**platform.servers, **platform.services}.items()
                if p.process is not None and p.process.poll() is not None
            ]
            if dead:
                print(f"{', '.join(dead)} stopped unexpectedly; see var/log/. Stopping the rest.", flush=True)
                return 1
        return 0
    except RuntimeError as exc:
        print(f"Mot Cua could not start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        print("Stopping …", flush=True)
        if platform is not None:
            platform.stop()
        PIDFILE.unlink(missing_ok=True)
        print("Stopped; no process left behind.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
