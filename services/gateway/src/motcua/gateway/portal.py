"""The web portal: its files at `/`, and index.html for the client-side routes a browser asks for.

A GET that is not an API path, not a file of the portal, and accepts text/html (a browser opening
`/verify-email?token=…`, `/applications/…`, `/lookup/…`) gets index.html; the portal's own script
then reads the address. Anything else the gateway does not know is a 404 problem.

Files are `no-cache` (revalidated by ETag) at their own paths; at `/_/<release>/<path>` (see
`motcua.gateway.release`), the addresses index.html uses, they are cached for a year, immutable.
index.html is always `no-cache`, rewritten to name the current release.
"""

from __future__ import annotations

import stat
from pathlib import Path

import anyio
from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from motcua.common.errors import NotFound
from motcua.gateway import release, routes
from starlette.staticfiles import StaticFiles

# Shown only while the portal's folder has no index.html: no inline script or style, so the CSP holds.
PLACEHOLDER = """<!doctype html>
<html lang="vi">
<head><meta charset="utf-8"><title>Một Cửa — Dịch vụ công trực tuyến</title></head>
<body>
<h1>Một Cửa</h1>
<p>Cổng dịch vụ công trực tuyến: đăng ký tài khoản, tìm thủ tục, nộp hồ sơ và theo dõi kết quả.</p>
<p>Online public services: register, find a procedure, submit a dossier and follow it.</p>
<p><a href="/openapi.json">API (OpenAPI)</a></p>
</body>
</html>
"""
NO_CACHE = "no-cache"


def _accepts_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "").lower()


def _looks_like_file(path: str) -> bool:
    last = path.rsplit("/", 1)[-1]
    return "." in last


class Portal:
    """Serves the folder's files (ETag, Last-Modified, HEAD, ranges by Starlette) and the fallback."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = StaticFiles(directory=directory, check_dir=False)
        self._release: release.Release | None = None
        self._signature: tuple[tuple[str, int, int], ...] | None = None

    def _current(self) -> release.Release | None:
        """The release of the folder, built again only when a file changed (size or time)."""
        if not self.directory.is_dir():
            return None
        now = release.signature(self.directory)
        if now != self._signature or self._release is None:
            self._release, self._signature = release.build(self.directory), now
        return self._release

    async def _index(self, request: Request) -> Response | None:
        """index.html as the release rewrote it, `no-cache`, revalidated by its ETag."""
        current = await anyio.to_thread.run_sync(self._current)
        if current is None:
            return None
        etag = f'"{current.etag}"'
        headers = {"Cache-Control": NO_CACHE, "ETag": etag}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        return HTMLResponse(current.index_html, headers=headers)

    async def _file(self, relative: str, request: Request, cache: str = NO_CACHE) -> Response | None:
        full_path, found = await anyio.to_thread.run_sync(self.files.lookup_path, relative)
        if found is None or not stat.S_ISREG(found.st_mode):
            return None
        response = self.files.file_response(full_path, found, request.scope)
        response.headers["Cache-Control"] = cache
        return response

    async def _versioned(self, version: str, relative: str, request: Request) -> Response | None:
        """A file at its release address: immutable for the current release; an older page (open across a
        deploy) gets today's file, revalidated, never cached under the old name."""
        if relative == "index.html" or any(part.startswith(".") for part in relative.split("/")):
            return None
        current = await anyio.to_thread.run_sync(self._current)
        fresh = current is not None and current.version == version
        return await self._file(relative, request, release.IMMUTABLE if fresh else NO_CACHE)

    async def serve(self, request: Request) -> Response:
        """A portal file, index.html for a browser's client-side route, or 404."""
        path: str = request.scope["path"]
        if request.method not in ("GET", "HEAD") or routes.is_api_path(path) or not routes.is_safe(path):
            raise NotFound("There is nothing at this address.")
        split = release.split_versioned(path)
        if split is not None:
            found = await self._versioned(*split, request)
            if found is not None:
                return found
            raise NotFound("There is nothing at this address.")
        relative = path.lstrip("/")
        if relative == "index.html":
            index = await self._index(request)
            if index is not None:
                return index
        hidden = any(part.startswith(".") for part in relative.split("/"))
        if relative and not hidden and not relative.endswith("/"):
            found = await self._file(relative, request)
            if found is not None:
                return found
        if path == "/" or (_accepts_html(request) and not _looks_like_file(path)):
            index = await self._index(request)
            return index or HTMLResponse(PLACEHOLDER, headers={"Cache-Control": NO_CACHE})
        raise NotFound("There is nothing at this address.")
