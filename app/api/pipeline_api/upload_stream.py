"""A multipart/form-data upload read as it arrives: the `file` part goes straight to the object
store (an S3 multipart upload, 16 MiB in memory at most) while its bytes are counted.

FastAPI's `UploadFile` would first spool the whole body to a temporary file and the old endpoint
then read it into memory; here the body is parsed chunk by chunk with python-multipart's streaming
`MultipartParser` (python-multipart 0.0.34: python_multipart/multipart.py, the callbacks listed in
`MultipartParser`'s docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pipeline_common.storage import MultipartWriter, ObjectStore

from .errors import ApiError

#: The `name` form field is a data set's name (200 characters are kept); more than this is refused.
MAX_NAME_BYTES = 4096
NO_FILE = "is required: send the file as a multipart/form-data part named 'file'"

#: The request body the endpoint reads, for its OpenAPI document (FastAPI cannot infer it, as the
#: endpoint takes the raw request): the same form `File(...)` and `Form(None)` described.
FORM_SCHEMA = {
    "type": "object",
    "title": "DatasetUpload",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream", "title": "File",
                 "description": "A CSV (UTF-8, header row) or Parquet file"},
        "name": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Name"},
    },
}
OPENAPI_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": FORM_SCHEMA}}}}


class TooLarge(Exception):
    pass


@dataclass
class Received:
    filename: str | None
    name: str | None
    size: int


class _Form:
    """python-multipart callbacks: which part is being read, and where its bytes go."""

    def __init__(self, writer: MultipartWriter, limit: int):
        self.writer, self.limit = writer, limit
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}
        self.part: str | None = None
        self.filename: str | None = None
        self.files = 0
        self.size = 0
        self.name = bytearray()
        self.has_name = False

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda data, start, end: self.header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self.header_value.extend(data[start:end]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
        }

    def part_begin(self) -> None:
        self.headers, self.part = {}, None

    def header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field, self.header_value = bytearray(), bytearray()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition"))
        self.part = options.get(b"name", b"").decode("utf-8", "replace")
        if self.part == "file":
            self.files += 1
            if self.files > 1:
                raise ApiError(422, "file", "send one file per upload")
            if b"filename" in options:
                self.filename = options[b"filename"].decode("utf-8", "replace")
        elif self.part == "name":
            self.has_name = True

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part == "file":
            self.size += end - start
            if self.size > self.limit:
                raise TooLarge()
            self.writer.write(data[start:end])
        elif self.part == "name":
            self.name.extend(data[start:end])
            if len(self.name) > MAX_NAME_BYTES:
                raise ApiError(422, "name", f"longer than {MAX_NAME_BYTES} bytes")


def too_large(limit: int, field: str = "file") -> ApiError:
    return ApiError(413, field, f"larger than the limit of {limit} bytes")


async def receive(request: Request, store: ObjectStore, key: str, limit: int) -> Received:
    """Store the `file` part of the multipart body at `key`; nothing is stored when this raises
    (413 past `limit` bytes, 400 for a body that is not multipart, 422 without a file part)."""
    kind, options = parse_options_header(request.headers.get("content-type"))
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise ApiError(422, "file", NO_FILE)
    writer = store.writer(key, "application/octet-stream")
    form = _Form(writer, limit)
    try:
        parser = MultipartParser(options[b"boundary"], form.callbacks())
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(parser.write, chunk)
        parser.finalize()  # checks nothing at 0.0.34 (its TODO): the closing boundary is checked here
        if parser.state != MultipartState.END:
            raise MultipartParseError("the body ends before the closing boundary")
        if form.files == 0:
            raise ApiError(422, "file", NO_FILE)
        await run_in_threadpool(writer.close)
    except TooLarge:
        await run_in_threadpool(writer.abort)
        raise too_large(limit) from None
    except MultipartParseError as exc:
        await run_in_threadpool(writer.abort)
        raise ApiError(400, "file", f"the body is not valid multipart/form-data ({exc})") from None
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
    name = form.name.decode("utf-8", "replace") if form.has_name else None
    return Received(filename=form.filename, name=name, size=form.size)
