"""Docker HEALTHCHECK for the Mot Cua image: GET /healthz of the service this container runs.

The container's main process is `python -m motcua.<service>`; its port comes from `<SERVICE>_PORT`
as the service itself reads it. Exit 0 when healthy, 1 otherwise. Standard library only.
"""

import os
import sys
import urllib.request

DEFAULT_PORTS = {"gateway": 8000, "identity": 8001, "catalogue": 8002, "submission": 8003, "notification": 8004}


def running_service() -> str:
    with open("/proc/1/cmdline", "rb") as f:
        argv = f.read().decode(errors="replace").split("\0")
    for arg in argv:
        if arg.startswith("motcua.") and arg.removeprefix("motcua.") in DEFAULT_PORTS:
            return arg.removeprefix("motcua.")
    raise SystemExit(f"not a Mot Cua service: {' '.join(argv)}")


def main() -> int:
    service = running_service()
    port = int(os.environ.get(f"{service.upper()}_PORT", DEFAULT_PORTS[service]))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"{service} on port {port}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
