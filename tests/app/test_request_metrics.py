"""The API's request metrics: labelled by route template (not by raw path) and by the status sent."""

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pipeline_api.request_metrics import LATENCY, REQUESTS, RequestMetrics


def app() -> FastAPI:
    api = FastAPI()
    api.add_middleware(RequestMetrics)

    @api.get("/things/{thing_id}")
    def thing(thing_id: int):
        if thing_id == 404:
            raise HTTPException(404, "no such thing")
        return {"id": thing_id}

    @api.get("/boom")
    def boom():
        raise RuntimeError("unhandled")

    return api


def count(route: str, status: str) -> float:
    return REQUESTS.labels("GET", route, status)._value.get()


def test_requests_are_counted_per_route_template_and_status():
    client = TestClient(app())
    ok, missing = count("/things/{thing_id}", "200"), count("/things/{thing_id}", "404")
    client.get("/things/1"), client.get("/things/2"), client.get("/things/404")
    assert count("/things/{thing_id}", "200") == ok + 2
    assert count("/things/{thing_id}", "404") == missing + 1


def test_a_request_no_route_matches_is_counted_as_unmatched():
    before = count("unmatched", "404")
    TestClient(app()).get("/nowhere")
    assert count("unmatched", "404") == before + 1


def test_an_unhandled_error_is_counted_as_500():
    before = count("/boom", "500")
    TestClient(app(), raise_server_exceptions=False).get("/boom")
    assert count("/boom", "500") == before + 1


def test_latency_is_observed_per_route_template():
    before = LATENCY.labels("GET", "/things/{thing_id}")._sum.get()
    TestClient(app()).get("/things/3")
    assert LATENCY.labels("GET", "/things/{thing_id}")._sum.get() > before
