"""A worker takes the next queued job as soon as it has finished one.

Under Celery's solo pool the consumer loop could sit in a poll of up to two seconds after
acknowledging a job although the next message had arrived (celery/celery#3978 describes the
mechanism): one-record jobs drained at ~6/s instead of ~40/s. The worker now runs its one job at
a time in a thread (`--pool=threads --concurrency=1`), so the loop keeps reading the broker.
"""

from datetime import datetime

JOBS = 40


def test_queued_jobs_are_taken_one_after_another_without_a_pause(client, worker, read_only_model):
    record = {"age": 40, "hours": 45, "job": "engineer"}
    ids = [
        client.post("/api/v1/prediction-jobs", json={"model_name": read_only_model, "records": [record]}).json()["id"]
        for _ in range(JOBS)
    ]
    jobs = [client.get(f"/api/v1/jobs/{job_id}", params={"wait": 60}).json() for job_id in ids]
    assert {j["status"] for j in jobs} == {"succeeded"}
    at = lambda job, key: datetime.fromisoformat(job[key]).timestamp()  # noqa: E731
    jobs.sort(key=lambda j: at(j, "started_at"))
    pauses = [at(nxt, "started_at") - at(prev, "finished_at") for prev, nxt in zip(jobs, jobs[1:])]
    # Each next job is queued before the previous one ends (all were submitted first), so a
    # pause is the worker's own; a loaded CI machine adds tens of milliseconds, not a second.
    assert max(pauses) < 1.0, f"pauses over 0.2 s: {[round(p, 2) for p in pauses if p > 0.2]}"
