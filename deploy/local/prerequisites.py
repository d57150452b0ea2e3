"""The toolchains `make run` and `make test` need before anything else: Java 17+, Maven, cargo, npm.

Run by the system Python (stdlib only), before the virtual environment exists. One line per missing
tool, naming it and the Debian package that provides it; exit 1. A tool is not needed when what it
fetches or builds is already in the machine's cache (~/.cache/motcua, see motcua.devtools.devservers),
or when the server it is for is external (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI set).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
JAVA_MINIMUM = 17


def _devservers() -> ModuleType:
    """The module that holds the pins and the cache's layout (it imports only the standard library)."""
    path = ROOT / "libs" / "devtools" / "src" / "motcua" / "devtools" / "devservers.py"
    spec = importlib.util.spec_from_file_location("devservers", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def java_major(java: str) -> int | None:
    """The major version `java -version` reports ("17.0.15" → 17, "1.8.0_402" → 8)."""
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False).stderr
    except OSError:
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    if found is None:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def problems() -> list[str]:
    devservers = _devservers()
    wanted_kafka = not os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    wanted_mongodb = not os.environ.get("MONGODB_URI")
    found: list[str] = []
    if wanted_kafka:
        home = os.environ.get("JAVA_HOME")
        java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
        major = java_major(java) if java else None
        if major is None:
            found.append(
                "java is missing: Apache Kafka needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
            )
        elif major < JAVA_MINIMUM:
            found.append(
                f"java {major} is too old: Apache Kafka needs Java 17 or newer "
                "(Debian: apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
            )
        if not (devservers.kafka_libs() / ".complete").exists() and not shutil.which("mvn"):
            found.append("mvn is missing: Maven fetches the Apache Kafka broker (Debian: apt-get install maven)")
    if wanted_mongodb and not devservers.secantusd_binary().exists() and not shutil.which("cargo"):
        found.append(
            "cargo is missing: it builds the local MongoDB-protocol server secantusd-rs "
            "(Debian: apt-get install cargo, or rustup from https://rustup.rs)"
        )
    if not shutil.which("npm"):
        found.append("npm is missing: it installs esbuild, which bundles the web portal (Debian: apt-get install npm)")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(f"Missing prerequisite: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
