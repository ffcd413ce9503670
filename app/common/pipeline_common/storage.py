"""S3 object storage. Every object key carries its own id, so jobs never share a key.

Large objects never pass through memory whole: `MultipartWriter` streams what is written to it
as an S3 multipart upload, and `RangeReader` reads an object as a seekable file with ranged
GETs (what Parquet needs: its footer first, then only the row groups and columns asked for).
"""

from __future__ import annotations

import io
from functools import lru_cache

import boto3
from botocore.config import Config

#: Size of one multipart part. S3 (and MinIO) need at least 5 MiB for every part but the last and
#: allow 10,000 parts: 16 MiB parts carry objects up to 156 GiB while holding 16 MiB in memory.
PART_BYTES = 16 * 1024 * 1024


@lru_cache
def s3_client(endpoint_url: str | None):
    return boto3.client("s3", endpoint_url=endpoint_url, config=Config(retries={"max_attempts": 3}))


class ObjectStore:
    def __init__(self, endpoint_url: str | None, bucket: str):
        self.client = s3_client(endpoint_url)
        self.bucket = bucket

    def put(self, key: str, data: bytes, content_type: str = "text/csv") -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def open(self, key: str) -> io.BytesIO:
        return io.BytesIO(self.get(key))

    def stream(self, key: str):
        """The object's body as a stream (botocore's StreamingBody: read(n), iter_chunks())."""
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]

    def reader(self, key: str, size: int | None = None) -> "RangeReader":
        """`size`, when the caller knows it (a data set's row does), saves a HEAD request."""
        return RangeReader(self.client, self.bucket, key, size)

    def writer(self, key: str, content_type: str = "application/octet-stream") -> "MultipartWriter":
        return MultipartWriter(self.client, self.bucket, key, content_type)

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


class MultipartWriter(io.RawIOBase):
    """A write-only file whose bytes become the object `key`, uploaded in PART_BYTES parts.

    `close()` completes the upload (an empty file becomes an empty object); `abort()` (or leaving
    a `with` block on an exception) discards every part, so a failed write stores nothing.
    Written bytes are copied into one part-sized buffer, sent and then reused: no copy of a
    16 MiB part is made on the way, and no freed 16 MiB block is left to the allocator's heap
    (a measured 30 MiB of the API's peak during a 500 MB upload).
    """

    def __init__(self, client, bucket: str, key: str, content_type: str = "application/octet-stream"):
        super().__init__()
        self.client, self.bucket, self.key, self.content_type = client, bucket, key, content_type
        self.part_bytes = PART_BYTES
        self.buffer = bytearray()  # grows to part_bytes with the first part, then is reused
        self.filled = 0
        self.parts: list[dict] = []
        self.upload_id: str | None = None
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a closed object writer")
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            take = min(len(view), self.part_bytes - self.filled)
            if self.filled == len(self.buffer):  # the first part: the buffer grows to a part's size
                self.buffer += view[:take]
            else:
                self.buffer[self.filled : self.filled + take] = view[:take]
            self.filled += take
            view = view[take:]
            if self.filled == self.part_bytes:
                self._send()
        self.written += size
        return size

    def tell(self) -> int:
        return self.written

    def _send(self) -> None:
        if self.upload_id is None:
            created = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, ContentType=self.content_type)
            self.upload_id = created["UploadId"]
        number = len(self.parts) + 1
        with memoryview(self.buffer)[: self.filled] as part:
            sent = self.client.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=_ViewReader(part)
            )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        self.filled = 0

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self.upload_id is None:  # small enough for one request
                body = bytes(self.buffer[: self.filled])
                self.client.put_object(Bucket=self.bucket, Key=self.key, Body=body, ContentType=self.content_type)
            else:
                if self.filled:
                    self._send()
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
                )
        except BaseException:
            self.abort()
            raise
        self.buffer, self.filled = bytearray(), 0
        super().close()

    def abort(self) -> None:
        """Discard what was written; nothing is stored under `key`."""
        self.buffer, self.filled = bytearray(), 0
        if self.upload_id is not None:
            upload_id, self.upload_id = self.upload_id, None
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
        if not self.closed:
            super().close()

    def __exit__(self, kind, value, tb) -> None:
        if kind is not None:
            self.abort()
        else:
            self.close()


class _ViewReader(io.RawIOBase):
    """A part's bytes as the seekable file botocore takes as a body (it reads it for the checksum
    and the signature, rewinds it, then sends it) without copying them: a `bytes` body would be a
    copy, and botocore wraps a `bytearray` in a copying `io.BytesIO` (botocore 1.44.18,
    botocore/httpchecksum.py `_apply_request_trailer_checksum`)."""

    def __init__(self, view: memoryview):
        super().__init__()
        self.view, self.position = view, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: len(self.view)}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def __len__(self) -> int:
        return len(self.view)

    def readinto(self, buffer) -> int:
        chunk = self.view[self.position : self.position + len(buffer)]
        buffer[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)


class RangeReader(io.RawIOBase):
    """A read-only, seekable file over one object: every read is a ranged GET of what it asks for.

    Wrap it in `io.BufferedReader` for many small reads; pyarrow's Parquet reader asks for whole
    column chunks and takes it as it is.
    """

    def __init__(self, client, bucket: str, key: str, size: int | None = None):
        super().__init__()
        self.client, self.bucket, self.key = client, bucket, key
        self.length = int(client.head_object(Bucket=bucket, Key=key)["ContentLength"]) if size is None else size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def size(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        end = self.length if size is None or size < 0 else min(self.length, self.position + size)
        if end <= self.position:
            return b""
        body = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.position}-{end - 1}")["Body"]
        data = body.read()
        self.position += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)
