"""Receiving a document: the multipart body is parsed as it arrives and streamed into GridFS.

Nothing holds the whole file: the size limit is enforced while reading, the type is judged by the
first bytes, and the sha256 is computed on the way through. A refused upload leaves nothing stored.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from gridfs.asynchronous.grid_file import AsyncGridIn
from motcua.common.clock import now
from motcua.common.errors import DomainError, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from motcua.submission import filetypes
from motcua.submission.model import DocumentRef, Procedure
from motcua.submission.store import CHUNK_BYTES, Store
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

KEY_FIELD = "document_key"
FILE_FIELD = "file"
MAX_FIELD_BYTES = 200
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;\s]+)")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"\\/]")


class DocumentTooLarge(PayloadTooLarge):
    title = "Document too large"


class DocumentTypeNotAccepted(UnsupportedMediaType):
    title = "Document type not accepted"


def safe_filename(raw: str, fallback: str) -> str:
    """The last path segment, without control characters or quotes, at most 200 characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")[:200]
    return name or fallback


@dataclass
class _Parts:
    """python-multipart's callbacks, queued as (kind, name, payload) for the async side to act on."""

    queue: list[tuple[str, str, bytes]] = field(default_factory=list)
    _header: bytes = b""
    _value: bytes = b""
    _disposition: bytes = b""
    _name: str = ""

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._disposition = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._disposition = self._value
        self._header, self._value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename", b"").decode("utf-8", "replace")
        star = _FILENAME_STAR.search(self._disposition.decode("latin-1"))
        if star:
            filename = unquote(star.group(1))
        self.queue.append(("begin", self._name, filename.encode()))

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.queue.append(("data", self._name, bytes(data[start:end])))

    def _end(self) -> None:
        self.queue.append(("end", self._name, b""))


@dataclass
class _Receipt:
    """What is known of the upload so far; the first refusal found is kept and the rest drained."""

    procedure: Procedure
    store: Store
    metadata: dict[str, Any]
    refusal: DomainError | None = None
    key: str | None = None
    filename: str = ""
    files_seen: int = 0
    in_file: bool = False
    field_value: bytearray = field(default_factory=bytearray)
    head: bytearray = field(default_factory=bytearray)
    content_type: str | None = None
    judged: bool = False
    size: int = 0
    digest: Any = field(default_factory=hashlib.sha256)
    sink: AsyncGridIn | None = None
    small: bytearray = field(default_factory=bytearray)  # a file that fits in one chunk, kept until the end
    file_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def refuse(self, error: DomainError) -> None:
        if self.refusal is None:
            self.refusal = error

    @property
    def limit(self) -> int:
        document = self.procedure.document(self.key) if self.key else None
        return document.max_bytes if document else self.procedure.largest_document_bytes

    def check_key(self) -> None:
        if self.key is not None and self.procedure.document(self.key) is None:
            known = ", ".join(d.key for d in self.procedure.required_documents)
            self.refuse(InvalidInput.one(f"/{KEY_FIELD}", f"not a document of this procedure (it lists: {known})"))

    def check_type(self) -> None:
        document = self.procedure.document(self.key) if self.key else None
        if document is None or self.content_type in document.accepted_types:
            return
        self.refuse(
            DocumentTypeNotAccepted(
                f"The file is {self.content_type or 'of an unrecognised type'}; {document.key} accepts "
                f"{', '.join(document.accepted_types)} (judged by the file's content, not its name)."
            )
        )

    def check_size(self) -> None:
        if self.size > self.limit:
            self.refuse(DocumentTooLarge(f"The file is larger than the {self.limit / 1048576:g} MB allowed."))

    async def on_begin(self, name: str, filename: str) -> None:
        if name == FILE_FIELD:
            self.files_seen += 1
            if self.files_seen > 1:
                self.refuse(InvalidInput.one(f"/{FILE_FIELD}", "send one file per request"))
            self.in_file = True
            self.filename = filename
        elif name != KEY_FIELD:
            self.refuse(InvalidInput.one(f"/{name or 'body'}", f"unknown field; send {KEY_FIELD} and {FILE_FIELD}"))

    async def on_data(self, name: str, data: bytes) -> None:
        if name == KEY_FIELD:
            self.field_value += data[: MAX_FIELD_BYTES + 1]
            return
        if not self.in_file or self.refusal is not None:
            return  # drained: read and discarded
        self.size += len(data)
        self.check_size()
        if self.refusal is not None:
            return
        self.digest.update(data)
        if not self.judged:
            self.head += data
            if len(self.head) < filetypes.SNIFF_BYTES:
                return
            await self._judge_type()
            data, self.head = bytes(self.head), bytearray()
            if self.refusal is not None:
                return
        await self._write(data)

    async def on_end(self, name: str) -> None:
        if name == KEY_FIELD:
            if len(self.field_value) > MAX_FIELD_BYTES:
                self.refuse(InvalidInput.one(f"/{KEY_FIELD}", f"at most {MAX_FIELD_BYTES} characters"))
                return
            self.key = self.field_value.decode("utf-8", "replace").strip()
            self.check_key()
            self.check_size()
            if self.judged:
                self.check_type()
        elif name == FILE_FIELD and self.in_file:
            self.in_file = False
            if self.refusal is None and self.head:
                await self._judge_type()
                if self.refusal is None:
                    await self._write(bytes(self.head))
                self.head = bytearray()

    async def _judge_type(self) -> None:
        self.content_type = filetypes.sniff(bytes(self.head))
        self.judged = True
        self.check_type()

    async def _write(self, data: bytes) -> None:
        """Up to one GridFS chunk, kept; beyond it, streamed into GridFS as it comes."""
        if self.sink is None and len(self.small) + len(data) <= CHUNK_BYTES:
            self.small += data
            return
        if self.sink is None:
            self.sink = self.store.new_file(self.file_id, self.filename or "document", self.metadata)
            data, self.small = bytes(self.small) + data, bytearray()
        await self.sink.write(data)

    async def close(self) -> bytes | None:
        """Close a large file streamed into GridFS; a small one is handed back, stored with its attachment."""
        if self.sink is not None:
            await self.sink.close()
            return None
        return bytes(self.small)

    async def discard(self) -> None:
        """Remove whatever reached GridFS (chunks of an open file, or a closed file)."""
        if self.sink is None:
            return
        if self.sink.closed:
            await self.store.delete_file(self.file_id)
        else:
            await self.sink.abort()

    def finish(self) -> DocumentRef:
        if self.refusal is None and self.in_file:
            self.refuse(InvalidInput.one(f"/{FILE_FIELD}", "the multipart body ended in the middle of the file"))
        if self.refusal is None and self.key is None:
            self.refuse(InvalidInput.one(f"/{KEY_FIELD}", "required"))
        if self.refusal is None and self.files_seen == 0:
            self.refuse(InvalidInput.one(f"/{FILE_FIELD}", "required: the document's file"))
        if self.refusal is None and self.size == 0:
            self.refuse(InvalidInput.one(f"/{FILE_FIELD}", "the file is empty"))
        if self.refusal is not None:
            raise self.refusal
        assert self.key is not None
        assert self.content_type is not None
        return DocumentRef(
            id=self.file_id,
            document_key=self.key,
            filename=safe_filename(self.filename, self.key),
            content_type=self.content_type,
            size=self.size,
            sha256=self.digest.hexdigest(),
            uploaded_at=now(),
        )


@dataclass(frozen=True)
class Received:
    """An upload accepted: its description, and a file of one chunk still to be written (`content`), which
    `applications.attach` stores in the same transaction as the attachment; None when already in GridFS."""

    ref: DocumentRef
    content: bytes | None
    stored_name: str
    metadata: dict[str, Any]


async def drain(stream: AsyncIterator[bytes], limit: int) -> None:
    """Read and discard a body that is refused anyway, up to `limit` bytes."""
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            return


def boundary_of(content_type: str) -> bytes:
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType(f"Send the document as multipart/form-data with {KEY_FIELD} and {FILE_FIELD}.")
    return boundary


async def receive(
    stream: AsyncIterator[bytes],
    content_type: str,
    procedure: Procedure,
    store: Store,
    *,
    metadata: dict[str, Any],
    drain_limit: int,
) -> Received:
    """Receive the uploaded document (a large one streamed into GridFS) and describe it, or raise why not
    (nothing left stored)."""
    parts = _Parts()
    parser = MultipartParser(boundary_of(content_type), parts.callbacks())
    receipt = _Receipt(procedure=procedure, store=store, metadata=metadata)
    cap = procedure.largest_document_bytes + drain_limit
    received = 0
    broken = False
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > cap:  # stop reading: the connection is closed after the answer
                receipt.refuse(DocumentTooLarge("The request is far larger than any document allowed."))
                break
            if broken:
                continue  # read and discard the rest, so the client gets its answer
            try:
                parser.write(chunk)
            except MultipartParseError:
                receipt.refuse(InvalidInput.one(f"/{FILE_FIELD}", "the multipart body is malformed"))
                broken = True
            for kind, name, payload in parts.queue:
                if kind == "data":
                    await receipt.on_data(name, payload)
                elif kind == "begin":
                    await receipt.on_begin(name, payload.decode())
                else:
                    await receipt.on_end(name)
            parts.queue.clear()
        if not broken:
            with suppress(MultipartParseError):
                parser.finalize()
        ref = receipt.finish()
        content = await receipt.close()
        return Received(ref, content, receipt.filename or "document", metadata)
    except BaseException:
        await receipt.discard()
        raise
