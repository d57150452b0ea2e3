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

from motcua.common import devservers

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("MOTCUA_VAR") or ROOT / "var")  # tests run a second platform elsewhere
PIDFILE = VAR / "run" / "platform.pid"
FREE_PORTS = os.environ.get("MOTCUA_FREE_PORTS") == "1"
OVERRIDABLE = (
    "MONGODB_URI", "KAFKA_BOOTSTRAP_SERVERS", "SMTP_HOST", "SMTP_PORT", "GATEWAY_PORT", "IDENTITY_PORT",
    "CATALOGUE_PORT", "SUBMISSION_PORT", "NOTIFICATION_PORT", "PUBLIC_BASE_URL", "KAFKA_TOPIC_PREFIX",
    "LOG_LEVEL", "LOG_FORMAT", "SMS_PROVIDER", "SMS_WEBHOOK_URL", "MAIL_FROM", "SMTP_USERNAME", "SMTP_PASSWORD",
    "SMTP_STARTTLS", "IDENTITY_BOOTSTRAP_ADMIN_EMAIL", "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD",
    "IDENTITY_SIGNING_KEY_FILE", "IDENTITY_TOTP_ENCRYPTION_KEYS", "MONGODB_DB",
)


def _already_running() -> int | None:
    try:
        pid = int(PIDFILE.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def main() -> int:
    running = _already_running()
    if running is not None:
        print(f"Mot Cua is already running (pid {running}): open its gateway (http://127.0.0.1:8000/ by default) "
              f"or stop it with Ctrl-C in its terminal (or `kill {running}`).")
        return 0
    overrides = {k: v for k, v in os.environ.items() if k in OVERRIDABLE and v}
    busy = [
        f"{name} port {port}"
        for name, port, var in devservers.SERVICES
        if not FREE_PORTS and devservers.port_open("127.0.0.1", int(overrides.get(var, port)))
    ]
    if busy:
        print("Cannot start: something else already listens on " + ", ".join(busy) +
              ". Stop it, or choose other ports with GATEWAY_PORT, IDENTITY_PORT, … (see README).")
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
        env = platform.env
        print("\nMot Cua is running:")
        for name in platform.services:
            print(f"  {name:<13} {platform.url(name)}   (API docs: {platform.url(name)}/docs)")
        print(f"  {'mongodb':<13} {env['MONGODB_URI']}")
        print(f"  {'kafka':<13} {env['KAFKA_BOOTSTRAP_SERVERS']}")
        print(f"  {'smtp sink':<13} {env['SMTP_HOST']}:{env['SMTP_PORT']}   (mail kept in var/mail/)")
        print(f"\n  bootstrap admin: {env['IDENTITY_BOOTSTRAP_ADMIN_EMAIL']}"
              " (password: IDENTITY_BOOTSTRAP_ADMIN_PASSWORD, see README)")
        print("  SMS codes are written to var/log/notification.log (SMS_PROVIDER=log)")
        print("\nPress Ctrl-C to stop everything.", flush=True)
        while not stop.wait(1.0):
            dead = [n for n, p in {**platform.servers, **platform.services}.items()
                    if p.process is not None and p.process.poll() is not None]
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
