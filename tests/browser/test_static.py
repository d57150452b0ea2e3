"""The portal's files, checked without a browser: the rules the CSP and the two languages rely on."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "services" / "gateway" / "src" / "motcua" / "gateway" / "static"
SCRIPTS = sorted((STATIC / "js").rglob("*.js"))


def keys_of(dictionary: Path) -> list[str]:
    return re.findall(r"^\s*'([^']+)':", dictionary.read_text(), re.MULTILINE)


def test_vietnamese_and_english_have_the_same_keys_and_no_key_twice() -> None:
    vi, en = keys_of(STATIC / "js" / "lang" / "vi.js"), keys_of(STATIC / "js" / "lang" / "en.js")
    assert len(vi) == len(set(vi))
    assert len(en) == len(set(en))
    assert set(vi) == set(en), sorted(set(vi) ^ set(en))
    assert len(vi) > 250


def test_every_text_key_the_pages_use_is_in_the_dictionaries() -> None:
    known = set(keys_of(STATIC / "js" / "lang" / "vi.js"))
    used: set[str] = set()
    for script in SCRIPTS:
        text = script.read_text()
        used |= set(re.findall(r"\bt\(\s*'([^']+)'", text))
        used |= {k for pair in re.findall(r"\?\s*'([\w.]+)'\s*:\s*'([\w.]+)'", text) for k in pair if "." in k}
    used.discard("key")  # the example in i18n.js's comment
    assert used - known == set()


def test_no_inline_script_style_or_markup_from_strings() -> None:
    """The CSP forbids inline script and style; building from text nodes keeps what users type inert."""
    index = (STATIC / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", index), "inline <script> in index.html"
    assert not re.search(r"<style|\sstyle=|\son\w+=", index), "inline style or handler in index.html"
    forbidden = (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        ".style.",
        "'style'",
        "localStorage.setItem('motcua.session",
    )
    for script in SCRIPTS:
        text = script.read_text()
        found = [word for word in forbidden if word in text]
        assert not found, f"{script.name}: {found}"


def test_every_module_the_pages_import_exists() -> None:
    for script in SCRIPTS:
        for target in re.findall(r"^import .*? from '(\.[^']+)';", script.read_text(), re.MULTILINE):
            assert (script.parent / target).resolve().is_file(), f"{script.name} imports {target}"


def test_the_vendored_qr_encoder_is_the_locked_npm_package() -> None:
    if not (ROOT / "portal" / "node_modules" / "qrcode-generator").is_dir() or shutil.which("node") is None:
        pytest.skip("portal/node_modules is not installed (cd portal && npm ci)")
    check = subprocess.run(["node", "vendor.mjs", "--check"], cwd=ROOT / "portal", capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
