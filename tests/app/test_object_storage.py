"""Object storage in bounded memory: multipart writes that store all or nothing, ranged reads."""

import io

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from pipeline_common import storage
from pipeline_common.storage import ObjectStore

BUCKET = "pipeline-data"
MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last (moto enforces it too)


@pytest.fixture
def store(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(storage, "PART_BYTES", MIN_PART)
    with mock_aws():
        storage.s3_client.cache_clear()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield ObjectStore(None, BUCKET)
    storage.s3_client.cache_clear()


def keys(store: ObjectStore) -> list[str]:
    return [o["Key"] for o in store.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def pending_uploads(store: ObjectStore) -> list[str]:
    return [u["Key"] for u in store.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]


def test_a_writer_stores_what_was_written_across_several_parts(store):
    data = bytes(range(256)) * (MIN_PART * 2 // 256 + 1000)
    with store.writer("big.bin") as w:
        for i in range(0, len(data), 1_000_003):
            w.write(data[i : i + 1_000_003])
    assert len(w.parts) == 3
    assert store.get("big.bin") == data


def test_a_small_write_becomes_one_object_without_a_multipart_upload(store):
    with store.writer("small.bin") as w:
        w.write(b"a,b\n1,2\n")
    assert w.upload_id is None and store.get("small.bin") == b"a,b\n1,2\n"


def test_an_error_inside_the_writer_stores_nothing_and_leaves_no_parts(store):
    with pytest.raises(RuntimeError), store.writer("broken.bin") as w:
        w.write(b"x" * (MIN_PART + 1))
        assert w.upload_id is not None  # a part is already uploaded
        raise RuntimeError("the upload was cut off")
    assert keys(store) == [] and pending_uploads(store) == []


def test_a_range_reader_reads_and_seeks_like_a_file(store):
    store.put("f.bin", b"0123456789")
    r = store.reader("f.bin")
    assert r.read(3) == b"012"
    r.seek(-2, io.SEEK_END)
    assert r.read() == b"89"
    r.seek(4)
    assert r.read(100) == b"456789" and r.read(1) == b""


def test_parquet_reads_only_the_asked_columns_through_a_range_reader(store):
    table = pa.table({"a": list(range(1000)), "b": [str(i) for i in range(1000)]})
    with store.writer("t.parquet") as w:
        pq.write_table(table, w, row_group_size=100)
    f = pq.ParquetFile(store.reader("t.parquet"))
    assert f.metadata.num_row_groups == 10
    assert f.read_row_group(3, columns=["b"]).column("b").to_pylist() == [str(i) for i in range(300, 400)]
