"""Uploads straight to the object store: the API hands out presigned URLs for the parts of an S3
multipart upload, the client PUTs the parts there, then `complete` registers the data set through
the same conversion as `POST /datasets` (pipeline_common.columnar).

The URLs are signed for S3_PUBLIC_URL when it is set, else for S3_ENDPOINT_URL (the endpoint the API
itself uses): a client outside the host needs S3_PUBLIC_URL to be the store's address as it sees it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pipeline_common.db import new_id
from pipeline_common.storage import PART_BYTES, s3_client

from ..dependencies import API, Services, authorized, get_services
from ..errors import COMMON, NOT_FOUND, TOO_LARGE, ApiError, doc
from ..schemas import DatasetOut
from ..upload_stream import too_large
from .datasets import dataset_name, plausible_id, register

router = APIRouter(prefix=f"{API}/uploads", tags=["datasets"], dependencies=[Depends(authorized)], responses=COMMON)

#: How long a presigned part URL stays valid.
URL_SECONDS = 3600
#: S3 allows 10,000 parts per upload.
MAX_PARTS = 10_000


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(gt=0, description="the file's size in bytes")
    name: str | None = Field(None, max_length=200, description="the data set's name")
    filename: str | None = Field(None, max_length=300)


class PartUrl(BaseModel):
    number: int
    url: str


class UploadOut(BaseModel):
    id: str = Field(description="the upload's id, also the data set's id once completed")
    part_bytes: int = Field(description="every part but the last has exactly this many bytes")
    parts: list[PartUrl] = Field(description="PUT each part's bytes to its URL, in any order")
    expires_at: datetime


def raw_key(upload_id: str, size: int) -> str:
    """The raw object's key carries the declared size, so `complete` knows how many parts to expect
    without a table of its own (S3 lists an upload's key, not its metadata)."""
    return f"uploads/{upload_id}-{size}.raw"


def part_bytes_for(size: int) -> int:
    return max(PART_BYTES, math.ceil(size / MAX_PARTS))


def presigner(svc: Services):
    return s3_client(svc.settings.s3_public_url or svc.settings.s3_endpoint_url)


def pending(svc: Services, upload_id: str) -> tuple[str, str, int]:
    """(key, S3 upload id, declared size) of the multipart upload behind `upload_id`; 404 when
    there is none (unknown, completed or aborted)."""
    found = []
    if plausible_id(upload_id):
        listed = svc.store.client.list_multipart_uploads(Bucket=svc.store.bucket, Prefix=f"uploads/{upload_id}-")
        found = [(u["Key"], u["UploadId"]) for u in listed.get("Uploads", [])]
    if not found:
        raise ApiError(404, "upload_id", f"upload '{upload_id}' does not exist (or was completed or aborted)")
    key, s3_id = found[0]
    return key, s3_id, int(key.removeprefix(f"uploads/{upload_id}-").removesuffix(".raw"))


@router.post("", status_code=201, response_model=UploadOut, responses=TOO_LARGE)
def create_upload(body: UploadIn, svc: Services = Depends(get_services)) -> UploadOut:
    limit = svc.settings.max_upload_bytes
    if body.size > limit:
        raise too_large(limit, "size")
    part_bytes = part_bytes_for(body.size)
    upload_id = new_id()
    key = raw_key(upload_id, body.size)
    name = dataset_name(body.name, body.filename)
    created = svc.store.client.create_multipart_upload(Bucket=svc.store.bucket, Key=key, Metadata={"name": quote(name)})
    signer = presigner(svc)
    urls = [
        PartUrl(
            number=n,
            url=signer.generate_presigned_url(
                "upload_part",
                Params={"Bucket": svc.store.bucket, "Key": key, "UploadId": created["UploadId"], "PartNumber": n},
                ExpiresIn=URL_SECONDS,
            ),
        )
        for n in range(1, math.ceil(body.size / part_bytes) + 1)
    ]
    expires = datetime.now(timezone.utc) + timedelta(seconds=URL_SECONDS)
    return UploadOut(id=upload_id, part_bytes=part_bytes, parts=urls, expires_at=expires)


def uploaded_parts(svc: Services, key: str, s3_id: str) -> list[dict]:
    pages = svc.store.client.get_paginator("list_parts").paginate(Bucket=svc.store.bucket, Key=key, UploadId=s3_id)
    return [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for page in pages for p in page.get("Parts", [])]


def finish(svc: Services, upload_id: str) -> DatasetOut:
    key, s3_id, size = pending(svc, upload_id)
    parts = uploaded_parts(svc, key, s3_id)
    numbers = {p["PartNumber"] for p in parts}
    expected = math.ceil(size / part_bytes_for(size))
    missing = [n for n in range(1, expected + 1) if n not in numbers]
    if missing:
        raise ApiError(409, "upload_id", f"part {missing[0]} of {expected} of upload '{upload_id}' was not uploaded")
    parts = [p for p in parts if p["PartNumber"] <= expected]
    svc.store.client.complete_multipart_upload(Bucket=svc.store.bucket, Key=key, UploadId=s3_id, MultipartUpload={"Parts": parts})
    head = svc.store.client.head_object(Bucket=svc.store.bucket, Key=key)
    limit = svc.settings.max_upload_bytes
    if int(head["ContentLength"]) > limit:
        svc.store.delete(key)
        raise too_large(limit)
    name = unquote(head.get("Metadata", {}).get("name", "")) or "dataset"
    return register(svc, upload_id, key, name)


@router.post(
    "/{upload_id}/complete",
    status_code=201,
    response_model=DatasetOut,
    responses={
        **NOT_FOUND,
        **TOO_LARGE,
        409: doc("A part was not uploaded; `detail` names the first one missing"),
    },
)
async def complete_upload(upload_id: str, svc: Services = Depends(get_services)) -> DatasetOut:
    """Join the uploaded parts and register the data set (as `POST /datasets` does with its file)."""
    return await run_in_threadpool(finish, svc, upload_id)


@router.delete("/{upload_id}", status_code=204, response_class=Response, responses=NOT_FOUND)
def abort_upload(upload_id: str, svc: Services = Depends(get_services)) -> Response:
    """Discard the parts uploaded so far."""
    key, s3_id, _ = pending(svc, upload_id)
    svc.store.client.abort_multipart_upload(Bucket=svc.store.bucket, Key=key, UploadId=s3_id)
    return Response(status_code=204)
