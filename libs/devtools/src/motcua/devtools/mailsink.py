"""The development SMTP sink of `make run`: keeps each message as an .eml file and logs one line.

Development only (aiosmtpd is a dev dependency): `python -m motcua.devtools.mailsink --port 1025 --dir var/mail`.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import signal
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class KeepAsFiles:
    """aiosmtpd handler: one .eml file per accepted message."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        stamp = time.strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{self.count:05d}.eml"
        data: bytes = envelope.original_content or envelope.content
        path.write_bytes(data)
        message = email.message_from_bytes(data, policy=email.policy.default)
        print(  # noqa: T201 - this process's output is its log
            f"mail to={','.join(envelope.rcpt_tos)} subject={message['subject']!s} file={path}", flush=True
        )
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m motcua.devtools.mailsink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = Controller(KeepAsFiles(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"smtp sink listening on {args.host}:{args.port}, keeping mail in {args.dir}", flush=True)  # noqa: T201
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
