"""What is stored is read back in time and memory proportional to what is asked: a preview reads the
data set's small head object (one GET), a profile is read from the data set's row, a result comes as CSV or Parquet; data sets
and results stored before Parquet (CSV objects) keep working."""

import io
import json
import uuid

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from pipeline_common import storage
from pipeline_common.columnar import PREVIEW_MAX_ROWS, ROW_GROUP_ROWS, convert, frame_from_table, head_key, preview_frame
from pipeline_common.storage import ObjectStore

from .conftest import make_csv
from .flow import upload
from .services import S3_ENV
from .stored import csv_dataset

BUCKET = "pipeline-data"


def db(stack):
    return psycopg.connect(f"{stack.pg}/pipeline", autocommit=True)


def parquet_bytes(table: pa.Table, row_group_size: int = ROW_GROUP_ROWS) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=row_group_size)
    return buf.getvalue()


def test_a_preview_of_a_data_set_without_a_head_object_reads_the_footer_and_the_first_row_group_only(monkeypatch):
    """Parquet data sets converted before head objects existed keep the ranged-read path."""
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    table = pa.table({"n": pa.array(range(4 * ROW_GROUP_ROWS), pa.int64()), "label": ["x" * 20] * (4 * ROW_GROUP_ROWS)})
    with mock_aws():
        storage.s3_client.cache_clear()
        store = ObjectStore(None, BUCKET)
        store.client.create_bucket(Bucket=BUCKET)
        data = parquet_bytes(table)
        store.put("datasets/d.parquet", data)
        first_group = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).total_byte_size
        asked = []
        store.client.meta.events.register("provide-client-params.s3.GetObject", lambda params, **_: asked.append((params["Key"], params.get("Range"))))
        frame = preview_frame(store, "datasets/d.parquet", 20)
    storage.s3_client.cache_clear()
    assert frame["n"].tolist() == list(range(20))
    assert asked[0] == ("datasets/d.head.parquet", None)  # not found: the ranged path follows
    ranges = [r for _, r in asked[1:]]
    read = sum(int(end) - int(start) + 1 for start, end in (r.removeprefix("bytes=").split("-") for r in ranges))
    assert None not in ranges and read < first_group + 64 * 1024 < len(data) / 2


def test_a_data_sets_preview_is_one_get_of_its_head_object(monkeypatch):
    """Conversion writes the first PREVIEW_MAX_ROWS rows beside the data set; a preview reads only
    that object, whole (no ranged reads of the data set, no HEAD)."""
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    rows = 2 * ROW_GROUP_ROWS
    csv = "".join([",".join(f"c{i}" for i in range(12)) + "\n"] + [",".join([str(n)] * 12) + "\n" for n in range(rows)])
    with mock_aws():
        storage.s3_client.cache_clear()
        store = ObjectStore(None, BUCKET)
        store.client.create_bucket(Bucket=BUCKET)
        store.put("uploads/d.raw", csv.encode())
        key = f"datasets/{uuid.uuid4().hex}.parquet"
        done = convert(store, "uploads/d.raw", key)
        requests = []
        store.client.meta.events.register(
            "provide-client-params.s3.*", lambda model, params, **_: requests.append((model.name, params.get("Key"), params.get("Range"))))
        frame = preview_frame(store, key, 20, done.size_bytes)
    storage.s3_client.cache_clear()
    assert frame["c11"].tolist() == list(range(20))
    assert requests == [("GetObject", head_key(key), None)]


def test_a_conversion_whose_head_object_cannot_be_stored_leaves_nothing_stored(monkeypatch):
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        storage.s3_client.cache_clear()
        store = ObjectStore(None, BUCKET)
        store.client.create_bucket(Bucket=BUCKET)
        store.put("uploads/d.raw", make_csv())

        def refuse(params, **_):
            if params["Key"].endswith(".head.parquet"):
                raise OSError("the store refused the head object")

        store.client.meta.events.register("provide-client-params.s3.PutObject", refuse)
        with pytest.raises(OSError, match="head object"):
            convert(store, "uploads/d.raw", "datasets/d.parquet")
        left = store.client.list_objects_v2(Bucket=BUCKET, Prefix="datasets/").get("KeyCount")
    storage.s3_client.cache_clear()
    assert left == 0


def records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def test_a_preview_shows_the_stored_files_first_rows(client, s3):
    ds = upload(client, make_csv(rows=3 * PREVIEW_MAX_ROWS), "head-rows")
    stored = pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=f"datasets/{ds['id']}.parquet")["Body"].read()))
    for rows in (5, PREVIEW_MAX_ROWS):
        preview = client.get(f"/api/v1/datasets/{ds['id']}/preview?rows={rows}").json()
        assert preview["rows"] == records(frame_from_table(stored.slice(0, rows))), rows


def test_a_preview_of_more_rows_than_the_head_object_holds_is_refused_naming_rows(client):
    ds = upload(client, make_csv(), "too-many-rows")
    r = client.get(f"/api/v1/datasets/{ds['id']}/preview?rows={PREVIEW_MAX_ROWS + 1}")
    assert r.status_code == 422 and r.json()["field"] == "rows"


def test_deleting_a_data_set_deletes_all_its_objects(client, s3):
    ds = upload(client, make_csv(), "deleted")
    prefix = f"datasets/{ds['id']}"
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    assert sorted(listed) == [f"{prefix}.head.parquet", f"{prefix}.parquet"]
    assert client.delete(f"/api/v1/datasets/{ds['id']}").status_code == 204
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount") == 0


def test_a_profile_is_served_from_the_data_sets_row(client, stack, s3):
    ds = client.post("/api/v1/datasets", files={"file": ("p.csv", make_csv(), "text/csv")}).json()
    s3.delete_object(Bucket=BUCKET, Key=f"datasets/{ds['id']}.parquet")  # the file is not read again
    r = client.get(f"/api/v1/datasets/{ds['id']}/profile")
    assert r.status_code == 200 and r.json()["rows"] == 400


def test_a_data_set_stored_as_csv_before_parquet_is_listed_previewed_profiled_and_deleted(client, stack, s3):
    data = make_csv()
    dataset_id = csv_dataset(stack, data, "old")
    assert dataset_id in [d["id"] for d in client.get("/api/v1/datasets").json()]
    preview = client.get(f"/api/v1/datasets/{dataset_id}/preview?rows=2").json()
    assert preview["rows"] == pd.read_csv(io.BytesIO(data)).head(2).to_dict("records")
    assert client.get(f"/api/v1/datasets/{dataset_id}/profile").json()["rows"] == 400
    with db(stack) as conn:  # profiled once, then served from the row
        assert conn.execute("select profile from datasets where id = %s", (dataset_id,)).fetchone()[0]["rows"] == 400
    assert client.delete(f"/api/v1/datasets/{dataset_id}").status_code == 204
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=f"datasets/{dataset_id}").get("KeyCount") == 0


def finished_prediction(stack, s3, key: str, body: bytes) -> str:
    """A prediction job as a worker leaves it (contract: result.object_key, rows)."""
    job_id = uuid.uuid4().hex
    s3.put_object(Bucket=BUCKET, Key=key.format(job_id=job_id), Body=body)
    result = {"object_key": key.format(job_id=job_id), "rows": 3}
    with db(stack) as conn:
        conn.execute(
            "insert into jobs (id, kind, status, params, result, attempts, created_at, finished_at) "
            "values (%s, 'prediction', 'succeeded', %s, %s, 1, now(), now())",
            (job_id, json.dumps({"dataset_id": "x", "model_name": "m"}), json.dumps(result)),
        )
    return job_id


RESULT = pa.table({"age": pa.array([30, None, 52], pa.int64()), "job": ["clerk", "farmer", None],
                   "prediction": [">50K", "<=50K", "<=50K"], "probability": [0.75, 0.25, 0.5]})


def test_a_result_is_csv_by_default(client, stack, s3):
    job_id = finished_prediction(stack, s3, "predictions/{job_id}.parquet", parquet_bytes(RESULT, row_group_size=2))
    r = client.get(f"/api/v1/jobs/{job_id}/result")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines() == ["age,job,prediction,probability", "30.0,clerk,>50K,0.75", ",farmer,<=50K,0.25", "52.0,,<=50K,0.5"]


def test_a_result_comes_as_parquet_with_format_parquet(client, stack, s3):
    job_id = finished_prediction(stack, s3, "predictions/{job_id}.parquet", parquet_bytes(RESULT))
    r = client.get(f"/api/v1/jobs/{job_id}/result", params={"format": "parquet"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.apache.parquet"
    assert pq.read_table(io.BytesIO(r.content)).equals(RESULT)


def test_a_result_stored_as_csv_is_served_as_stored_and_refused_as_parquet_with_the_reason(client, stack, s3):
    job_id = finished_prediction(stack, s3, "predictions/{job_id}.csv", b"age,prediction\n30,>50K\n")
    assert client.get(f"/api/v1/jobs/{job_id}/result").text == "age,prediction\n30,>50K\n"
    r = client.get(f"/api/v1/jobs/{job_id}/result", params={"format": "parquet"})
    assert r.status_code == 409 and r.json()["field"] == "format" and "format=csv" in r.json()["detail"]


def test_the_result_format_is_an_enum_in_the_openapi_document(client):
    op = client.get("/openapi.json").json()["paths"]["/api/v1/jobs/{job_id}/result"]["get"]
    param = next(p for p in op["parameters"] if p["name"] == "format")
    assert param["schema"]["enum"] == ["csv", "parquet"] and param["schema"]["default"] == "csv"
    assert set(op["responses"]["200"]["content"]) == {"text/csv", "application/vnd.apache.parquet"}
