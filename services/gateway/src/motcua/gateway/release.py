"""The portal's release: one version for its files, and index.html pointing at them by that version.

Every file of the portal (but index.html) is also served at `/_/<version>/<path>`, where the version
is the first 16 hex digits of a SHA-256 over all of them: a new release is a new address, so those
answers can be cached for a year, `immutable` (the browser does not even revalidate on reload), while
index.html itself stays `no-cache` and names the current version. index.html is rewritten here: its
own `/…` file references get the prefix, and the entry `/js/main.js` becomes the esbuild bundle
(`dist/main.js`, built by `portal/build.mjs`) when that bundle was built from the current sources
(dist/sources.sha256 matches); otherwise the modules are served as they are, each one announced with
`<link rel="modulepreload">` so the browser fetches them at once instead of one import level per
round trip. Pure: reads the folder, no I/O beyond it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

PREFIX = "/_/"
ENTRY = "js/main.js"
BUNDLE = "dist/main.js"
BUNDLE_DIGEST = "dist/sources.sha256"
SOURCE_FOLDERS = ("js", "vendor")
IMMUTABLE = "public, max-age=31536000, immutable"
_REFERENCE = re.compile(r'(href|src)="/([^"?#/][^"?#]*)"')
_IMPORT = re.compile(r"^import .*? from '(\.[^']+)';", re.MULTILINE)


@dataclass(frozen=True)
class Release:
    version: str
    index_html: bytes
    bundled: bool

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.index_html).hexdigest()[:32]

    def versioned(self, relative: str) -> str:
        return f"{PREFIX}{self.version}/{relative}"


def _files(directory: Path) -> list[str]:
    return sorted(
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Each file's path, size and modification time: cheap to take, changes whenever a file does."""
    found = []
    for name in _files(directory):
        stat = (directory / name).stat()
        found.append((name, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def sources_digest(directory: Path) -> str:
    """sha256 over js/ and vendor/, as portal/build.mjs writes it: each path, NUL, its bytes, NUL."""
    digest = hashlib.sha256()
    for name in _files(directory):
        if name.split("/", 1)[0] not in SOURCE_FOLDERS:
            continue
        digest.update(name.encode() + b"\0")
        digest.update((directory / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def module_graph(directory: Path) -> list[str]:
    """Every module js/main.js reaches by static imports, main.js first."""
    entry = (directory / ENTRY).resolve()
    order, todo, seen = [], [entry], set()
    while todo:
        module = todo.pop(0)
        if module in seen or not module.is_file():
            continue
        seen.add(module)
        order.append(module.relative_to(directory.resolve()).as_posix())
        todo.extend((module.parent / target).resolve() for target in _IMPORT.findall(module.read_text()))
    return order


def build(directory: Path) -> Release | None:
    """The release of the folder as it is now; None without an index.html."""
    index = directory / "index.html"
    if not index.is_file():
        return None
    digest = hashlib.sha256()
    for name in _files(directory):
        if name != "index.html":
            digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    version = digest.hexdigest()[:16]
    recorded = directory / BUNDLE_DIGEST
    bundled = (
        (directory / BUNDLE).is_file()
        and recorded.is_file()
        and recorded.read_text().strip() == sources_digest(directory)
    )
    release = Release(version=version, index_html=b"", bundled=bundled)
    text = index.read_text()

    def point(found: re.Match[str]) -> str:
        attribute, relative = found.group(1), found.group(2)
        if relative == ENTRY and bundled:
            relative = BUNDLE
        if not (directory / relative).is_file():
            return found.group(0)
        return f'{attribute}="{release.versioned(relative)}"'

    text = _REFERENCE.sub(point, text)
    preloads = [] if bundled else module_graph(directory)
    links = "".join(f'  <link rel="modulepreload" href="{release.versioned(m)}">\n' for m in preloads)
    text = text.replace('  <script type="module"', links + '  <script type="module"', 1)
    return Release(version=version, index_html=text.encode(), bundled=bundled)


def split_versioned(path: str) -> tuple[str, str] | None:
    """`/_/<version>/<relative>` → (version, relative); None for any other path."""
    if not path.startswith(PREFIX):
        return None
    version, _, relative = path[len(PREFIX) :].partition("/")
    if not version or not relative:
        return None
    return version, relative
