"""S3 object storage. Every object key carries its own id, so jobs never share a key."""

from __future__ import annotations

import io
from functools import lru_cache

import boto3
from botocore.config import Config


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

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)
