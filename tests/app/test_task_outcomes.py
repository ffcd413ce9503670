"""Every way out of a job's task finishes the job, retries its message or dead-letters it; none
acknowledges the message of an unfinished job (issue #27).

These run the task body (`data_processor.worker._execute`) with a stand-in worker and task, so
each failure can be placed exactly; the drills in test_outage_drills.py run the real thing.
"""

from __future__ import annotations

from types import SimpleNamespace

import psycopg
import pytest
from celery.exceptions import Reject, Retry
from sqlalchemy.exc import OperationalError

from pipeline_common.queue import make_celery

JOB = "0123456789abcdef0123456789abcdef"


def database_down() -> OperationalError:
    return OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused"))


class Task:
    def __init__(self, retries: int = 0):
        self.request = SimpleNamespace(retries=retries)
        self.countdowns: list[float] = []

    def retry(self, exc, countdown):
        self.countdowns.append(countdown)
        return Retry(exc=exc, when=countdown)


class StandIn:
    """A Worker whose steps raise what each test gives them."""

    def __init__(self, run=None, attempts=0, give_up=None):
        self._run, self._attempts, self._give_up = run, attempts, give_up
        self.released, self.given_up = [], []

    def run(self, job_id):
        raise self._run

    def attempts(self, job_id):
        if isinstance(self._attempts, Exception):
            raise self._attempts
        return self._attempts

    def give_up(self, job_id, error):
        if self._give_up:
            raise self._give_up
        self.given_up.append(error)

    def release(self, job_id):
        self.released.append(job_id)


@pytest.fixture
def execute(monkeypatch):
    for name, value in {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "AMQP_URL": "amqp://guest:guest@127.0.0.1:1//",
                        "MLFLOW_TRACKING_URI": "http://127.0.0.1:1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    from data_processor import worker as tasks
    from pipeline_common.config import get_settings

    get_settings.cache_clear()  # the module read its settings at import; nothing else in this process should
    monkeypatch.setattr(tasks, "settings", tasks.settings.model_copy(update={"max_job_attempts": 3}))

    def run(stand_in: StandIn, task: Task):
        monkeypatch.setattr(tasks, "_worker", stand_in)
        return tasks._execute(task, JOB)

    return run


def test_a_database_outage_during_a_job_puts_it_back_and_retries_the_message(execute):
    task, stand_in = Task(), StandIn(run=database_down())
    with pytest.raises(Retry):
        execute(stand_in, task)
    assert stand_in.released == [JOB] and task.countdowns == [1]


def test_an_outage_while_counting_attempts_retries_instead_of_acknowledging(execute):
    task = Task()
    with pytest.raises(Retry):
        execute(StandIn(run=RuntimeError("a bug in a step"), attempts=database_down()), task)
    assert task.countdowns == [1]


def test_an_outage_while_giving_up_retries_instead_of_acknowledging(execute):
    task = Task()
    with pytest.raises(Retry):
        execute(StandIn(run=RuntimeError("a bug in a step"), attempts=3, give_up=database_down()), task)
    assert task.countdowns == [1]


def test_retries_back_off_to_at_most_thirty_seconds(execute):
    countdowns = []
    for retries in (0, 1, 2, 4, 5, 12):
        task = Task(retries)
        with pytest.raises(Retry):
            execute(StandIn(run=database_down()), task)
        countdowns += task.countdowns
    assert countdowns == [1, 2, 4, 16, 30, 30]


def test_an_unexpected_error_is_retried_until_the_attempts_are_used_up_then_fails_the_job_and_dead_letters(execute):
    task = Task()
    with pytest.raises(Retry):
        execute(StandIn(run=RuntimeError("a bug in a step"), attempts=2), task)
    exhausted = StandIn(run=RuntimeError("a bug in a step"), attempts=3)
    with pytest.raises(Reject) as rejected:
        execute(exhausted, Task())
    assert rejected.value.requeue is False and exhausted.given_up == ["gave up after 3 attempts: a bug in a step"]


def test_an_unforeseen_error_while_recording_a_failure_leaves_the_task_for_the_dead_letter_queue(execute):
    with pytest.raises(ValueError):
        execute(StandIn(run=RuntimeError("a bug in a step"), attempts=ValueError("another bug")), Task())


def test_a_message_whose_task_raises_is_rejected_not_acknowledged():
    # celery 5.7.0 celery/worker/request.py Request.on_failure: acks_late with acks_on_failure
    # False rejects without requeue, so RabbitMQ dead-letters the message.
    app = make_celery("amqp://guest:guest@127.0.0.1:1//", "any")
    assert app.conf.task_acks_late is True and app.conf.task_acks_on_failure is False


@pytest.mark.parametrize("failure", ["outage", "lease"])
def test_a_job_task_is_retried_however_often_it_was_retried_before(execute, monkeypatch, failure):
    # Celery's Task.retry(max_retries=None) falls back to the task's own max_retries, 3 by default
    # (celery 5.7.0 celery/app/task.py `retry` and `Task.max_retries`): the fourth retry of an outage
    # or of a held lease raised the error instead, and the message went to the dead-letter queue.
    from celery.canvas import Signature

    from data_processor import worker as tasks
    from data_processor.errors import LeaseHeld

    published = []
    monkeypatch.setattr(Signature, "apply_async", lambda sig, *a, **kw: published.append(sig.options.get("countdown")))
    error = database_down() if failure == "outage" else LeaseHeld(JOB, 4.0)
    for task in (tasks.train, tasks.predict):
        task.push_request(retries=9, args=[JOB], kwargs={}, called_directly=False, delivery_info={})
        try:
            with pytest.raises(Retry):
                execute(StandIn(run=error), task)
        finally:
            task.pop_request()
    assert published == ([30, 30] if failure == "outage" else [4.5, 4.5])
