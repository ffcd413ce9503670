"""Uploads of any size up to the limit, in bounded memory (issue #23): streamed to the object store as
they arrive, stored once as Parquet, or uploaded by the client straight to the store."""

import io
import select
import socket
from urllib.parse import urlsplit

import httpx
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline_common.columnar import ROW_GROUP_ROWS

from .conftest import make_csv
from .flow import upload

BUCKET = "pipeline-data"
MIB = 1024 * 1024


def keys(s3, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def pending_uploads(s3) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]


LIMIT = 20 * MIB  # past one 16 MiB part: a larger upload has started an S3 multipart upload by then


@pytest.fixture(scope="module")
def api_20m(stack) -> str:
    """A second API whose upload limit is 20 MiB (the session's is 2 MiB)."""
    return stack.start_api(name="api-20m", MAX_UPLOAD_BYTES=str(LIMIT))


@pytest.fixture(scope="module")
def client_20m(stack, api_20m):
    with httpx.Client(base_url=api_20m, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=120) as c:
        yield c


def dataset_rows(stack) -> int:
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:
        return conn.execute("select count(*) from datasets").fetchone()[0]


def chunked_form(boundary: str, size: int):
    """A multipart body with a `file` part of `size` bytes of CSV, sent in chunks (no Content-Length)."""
    yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
    yield b"a,b\n"
    line = b"1,2\n" * (MIB // 4)
    for _ in range(size // len(line) + 1):
        yield line
    yield f"\r\n--{boundary}--\r\n".encode()


def test_a_streamed_upload_past_the_limit_gets_413_naming_the_limit_and_leaves_nothing_stored(stack, s3, api_20m):
    limit, url = LIMIT, api_20m
    rows_before, objects_before = dataset_rows(stack), keys(s3, "")
    boundary = "b0undary23"
    headers = {"Authorization": f"Bearer {stack.api_token}", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = httpx.post(f"{url}/api/v1/datasets", content=chunked_form(boundary, 3 * limit), headers=headers, timeout=60)
    assert r.status_code == 413, r.text
    assert r.json()["field"] == "file" and f"limit of {limit} bytes" in r.json()["detail"]
    assert keys(s3, "") == objects_before
    assert pending_uploads(s3) == []
    assert dataset_rows(stack) == rows_before


def test_an_upload_past_the_limit_is_answered_413_before_the_client_has_sent_the_rest(stack, api_20m):
    """The API refuses as soon as the limit is passed, without waiting for the end of the body (a
    body read whole first would leave this client waiting for an answer that never comes)."""
    boundary = "b0undary23"
    url = urlsplit(api_20m)
    head = (
        f"POST /api/v1/datasets HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {stack.api_token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    body = chunked_form(boundary, 10 * LIMIT)  # never sent to its end: the answer comes first
    answer = b""
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(head)
        sent = 0
        while b"\r\n\r\n" not in answer:
            readable, writable, _ = select.select([sock], [sock], [], 60)
            assert readable or writable, f"no answer after {sent} bytes of the body"
            if readable:
                data = sock.recv(65536)
                assert data, f"the API closed the connection without an answer after {sent} bytes"
                answer += data
            elif sent < 5 * LIMIT:
                chunk = next(body)
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            else:
                readable, _, _ = select.select([sock], [], [], 60)  # only the answer is left to wait for
                assert readable, f"no answer after {sent} bytes of the body, 5 times the limit"
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert sent < 5 * LIMIT


def test_an_uploaded_csv_is_stored_once_as_parquet_with_its_profile_and_size(client, s3, stack):
    ds = upload(client, make_csv(), "stored-as-parquet")
    assert keys(s3, f"datasets/{ds['id']}") == [f"datasets/{ds['id']}.head.parquet", f"datasets/{ds['id']}.parquet"]
    assert keys(s3, f"uploads/{ds['id']}") == []  # the raw upload is deleted after conversion
    with psycopg.connect(f"{stack.pg}/pipeline") as conn:
        profile, size = conn.execute("select profile, size_bytes from datasets where id = %s", (ds["id"],)).fetchone()
    assert profile["rows"] == 400 and size == s3.head_object(Bucket=BUCKET, Key=f"datasets/{ds['id']}.parquet")["ContentLength"]


def test_a_parquet_upload_round_trips_through_preview_and_profile(client):
    table = pa.table({"age": pa.array([30, 41, None, 52], pa.int32()), "city": [" Oslo", "Rome ", "?", "Oslo"], "ok": [True, False, True, True]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    r = client.post("/api/v1/datasets", files={"file": ("t.parquet", buf.getvalue(), "application/vnd.apache.parquet")})
    assert r.status_code == 201, r.text
    ds = r.json()
    assert ds["rows"] == 4 and [c["dtype"] for c in ds["columns"]] == ["float64", "str", "bool"]
    preview = client.get(f"/api/v1/datasets/{ds['id']}/preview").json()
    assert preview["rows"] == [
        {"age": 30.0, "city": "Oslo", "ok": True},
        {"age": 41.0, "city": "Rome", "ok": False},
        {"age": None, "city": None, "ok": True},
        {"age": 52.0, "city": "Oslo", "ok": True},
    ]
    cols = {c["name"]: c for c in client.get(f"/api/v1/datasets/{ds['id']}/profile").json()["columns"]}
    assert (cols["age"]["kind"], cols["age"]["missing"], cols["age"]["max"]) == ("integer", 1, 52)
    assert cols["city"]["top_values"] == [{"value": "Oslo", "count": 2}, {"value": "Rome", "count": 1}]


def test_a_parquet_upload_with_a_column_of_another_type_is_refused_naming_it(client):
    table = pa.table({"when": pa.array([1, 2], pa.timestamp("ms")), "label": ["a", "b"]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    r = client.post("/api/v1/datasets", files={"file": ("t.parquet", buf.getvalue())})
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert "'when' (timestamp[ms])" in r.json()["detail"]


def test_a_csv_whose_later_rows_hold_text_in_a_numeric_looking_column_is_stored_with_that_column_as_text(client):
    rows = 300_000  # several 1 MiB blocks: the first ones hold only numbers in `code`
    data = b"code,label\n" + b"7,a\n" * rows + b"X9,b\n"
    ds = upload(client, data, "late-text")
    assert ds["rows"] == rows + 1
    assert {c["name"]: c["dtype"] for c in ds["columns"]} == {"code": "str", "label": "str"}
    assert client.get(f"/api/v1/datasets/{ds['id']}/preview?rows=1").json()["rows"] == [{"code": "7", "label": "a"}]


def test_a_presigned_multipart_upload_registers_the_data_set(stack, s3, client_20m):
    client = client_20m
    data = make_csv(rows=1_000_000)
    assert 16 * MIB < len(data) < LIMIT  # two parts
    r = client.post("/api/v1/uploads", json={"size": len(data), "name": "presigned"})
    assert r.status_code == 201, r.text
    offer = r.json()
    size = offer["part_bytes"]
    assert len(offer["parts"]) == 2 and all(p["url"].startswith(stack.s3) for p in offer["parts"])
    for part in offer["parts"]:
        chunk = data[(part["number"] - 1) * size : part["number"] * size]
        assert httpx.put(part["url"], content=chunk, timeout=60).status_code == 200
    r = client.post(f"/api/v1/uploads/{offer['id']}/complete")
    assert r.status_code == 201, r.text
    ds = r.json()
    assert (ds["id"], ds["name"], ds["rows"]) == (offer["id"], "presigned", 1_000_000)
    assert keys(s3, f"uploads/{offer['id']}") == [] and pending_uploads(s3) == []


def test_a_presigned_upload_completed_before_all_parts_arrived_gets_409_naming_the_part(client_20m):
    client = client_20m
    offer = client.post("/api/v1/uploads", json={"size": LIMIT}).json()
    assert len(offer["parts"]) == 2
    assert httpx.put(offer["parts"][0]["url"], content=b"a,b\n" + b"1,2\n" * (offer["part_bytes"] // 4 - 1)).status_code == 200
    r = client.post(f"/api/v1/uploads/{offer['id']}/complete")
    assert r.status_code == 409 and "part 2" in r.json()["detail"]
    assert client.delete(f"/api/v1/uploads/{offer['id']}").status_code == 204


def test_a_presigned_upload_larger_than_the_limit_is_refused_before_any_url_is_given(client):
    r = client.post("/api/v1/uploads", json={"size": 2 * 1024 * 1024 + 1})  # the session API's limit is 2 MiB
    assert r.status_code == 413 and r.json()["field"] == "size"


def test_a_preview_of_a_data_set_of_several_row_groups_shows_its_first_rows(client):
    ds = upload(client, b"n,label\n" + b"".join(b"%d,x\n" % i for i in range(ROW_GROUP_ROWS + 10)), "two-groups")
    preview = client.get(f"/api/v1/datasets/{ds['id']}/preview?rows=3").json()
    assert [r["n"] for r in preview["rows"]] == [0, 1, 2]


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00\x00IEND\xaeB`\x82"


def test_an_image_uploaded_as_a_data_set_is_refused_naming_the_file(client, s3):
    before = {o["Key"] for o in s3.list_objects_v2(Bucket="pipeline-data").get("Contents", [])}
    r = client.post("/api/v1/datasets", files={"file": ("file.png", PNG, "image/png")}, data={"name": ""})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "file" and "UTF-8" in r.json()["detail"]
    assert {o["Key"] for o in s3.list_objects_v2(Bucket="pipeline-data").get("Contents", [])} == before
