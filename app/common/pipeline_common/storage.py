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

    def reader(self, key: str) -> "RangeReader":
        return RangeReader(self.client, self.bucket, key)

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
    """

    def __init__(self, client, bucket: str, key: str, content_type: str = "application/octet-stream"):
        super().__init__()
        self.client, self.bucket, self.key, self.content_type = client, bucket, key, content_type
        self.buffer = bytearray()
        self.parts: list[dict] = []
        self.upload_id: str | None = None
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a closed object writer")
        self.buffer += data
        self.written += len(data)
        while len(self.buffer) >= PART_BYTES:
            self._send(bytes(self.buffer[:PART_BYTES]))
            del self.buffer[:PART_BYTES]
        return len(data)

    def tell(self) -> int:
        return self.written

    def _send(self, chunk: bytes) -> None:
        if self.upload_id is None:
            created = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, ContentType=self.content_type)
            self.upload_id = created["UploadId"]
        number = len(self.parts) + 1
        sent = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=chunk)
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self.upload_id is None:  # small enough for one request
                self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer), ContentType=self.content_type)
            else:
                if self.buffer:
                    self._send(bytes(self.buffer))
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
                )
        except BaseException:
            self.abort()
            raise
        self.buffer = bytearray()
        super().close()

    def abort(self) -> None:
        """Discard what was written; nothing is stored under `key`."""
        self.buffer = bytearray()
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


class RangeReader(io.RawIOBase):
    """A read-only, seekable file over one object: every read is a ranged GET of what it asks for.

    Wrap it in `io.BufferedReader` for many small reads; pyarrow's Parquet reader asks for whole
    column chunks and takes it as it is.
    """

    def __init__(self, client, bucket: str, key: str):
        super().__init__()
        self.client, self.bucket, self.key = client, bucket, key
        self.length = int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
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
