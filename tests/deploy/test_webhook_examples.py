"""The agency guide's webhook verification examples (Python, Python's standard library, openssl in shell)
accept a delivery signed by the webhooks service and refuse a tampered one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from motcua.webhooks.model import body_of, new_secret
from motcua.webhooks.sending import signature_headers


def blocks(root: Path, language: str) -> list[str]:
    guide = (root / "docs/agency-guide.md").read_text(encoding="utf-8")
    section = guide[guide.index("### Verify every delivery") :]
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)


def delivery() -> tuple[str, bytes, dict[str, str]]:
    secret, other = new_secret(), new_secret()
    body = body_of(
        {
            "specversion": "1.0",
            "id": "e-1",
            "type": "motcua.submission.ApplicationReceived.v1",
            "data": {"procedure_name": "Đăng ký khai sinh"},
        }
    )
    # during a rotation: two signatures, the subscriber's secret being the second one's
    return secret, body.encode(), signature_headers("e-1", body, [other, secret], datetime.now(UTC))


@pytest.mark.parametrize("function", ["verified_event", "verified_event_stdlib"])
def test_the_python_examples_verify_a_delivery(root: Path, function: str) -> None:
    namespace: dict[str, Any] = {}
    for code in blocks(root, "python"):
        exec(compile(code, "agency-guide.md", "exec"), namespace)
    secret, body, headers = delivery()
    assert namespace[function](secret, body, headers)["id"] == "e-1"
    assert namespace[function](secret, body + b" ", headers) is None
    assert namespace[function](new_secret(), body, headers) is None


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_the_shell_example_verifies_a_delivery(root: Path, tmp_path: Path) -> None:
    [script] = blocks(root, "sh")
    secret, body, headers = delivery()
    env = {
        **os.environ,
        "SECRET": secret,
        "WEBHOOK_ID": headers["webhook-id"],
        "WEBHOOK_TIMESTAMP": headers["webhook-timestamp"],
        "WEBHOOK_SIGNATURE": headers["webhook-signature"],
    }

    def run(content: bytes) -> subprocess.CompletedProcess[str]:
        (tmp_path / "body.json").write_bytes(content)
        return subprocess.run(
            ["sh", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30, check=False
        )

    good = run(body)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.strip() == "verified"
    assert run(body.replace(b"khai", b"KHAI")).returncode == 1
