"""The job queue: Celery over RabbitMQ with a dead-letter queue.

A message is acknowledged only after the job's outcome is committed (acks_late),
one message per worker at a time (prefetch 1), and requeued when a worker dies
(reject_on_worker_lost). Rejected messages go to `<prefix>.jobs.dead`.

An exception that escapes a task is rejected into the dead-letter queue, never acknowledged
(`task_acks_on_failure=False`): celery 5.7.0 `celery/worker/request.py` `Request.on_failure`
acknowledges a failed acks_late message when the flag is true (its default) and otherwise
calls `self.reject(requeue=False)`, which RabbitMQ routes to the queue's dead-letter exchange.
The worker itself retries an unavailable dependency and finishes or dead-letters bad jobs;
this covers a failure it did not foresee, so the message is kept with its reason.
`task_reject_on_worker_lost=True` stays: the same `on_failure` requeues (`reject(requeue=True)`)
a message whose pool child was lost (WorkerLostError) instead of acknowledging it; a whole
worker process that dies closes its connection, and RabbitMQ redelivers its unacked message.
"""

from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

TRAIN_TASK = "pipeline.train"
PREDICT_TASK = "pipeline.predict"


def queue_names(prefix: str) -> dict[str, str]:
    return {"jobs": f"{prefix}.jobs", "dead": f"{prefix}.jobs.dead", "dlx": f"{prefix}.dlx"}


def make_celery(amqp_url: str, prefix: str) -> Celery:
    names = queue_names(prefix)
    dlx = Exchange(names["dlx"], type="direct", durable=True)
    jobs = Queue(
        names["jobs"],
        Exchange(names["jobs"], type="direct", durable=True),
        routing_key=names["jobs"],
        durable=True,
        queue_arguments={"x-dead-letter-exchange": names["dlx"], "x-dead-letter-routing-key": names["dead"]},
    )
    dead = Queue(names["dead"], dlx, routing_key=names["dead"], durable=True)
    app = Celery("pipeline", broker=amqp_url)
    app.conf.update(
        task_queues=(jobs, dead),
        task_default_queue=names["jobs"],
        task_default_exchange=names["jobs"],
        task_default_routing_key=names["jobs"],
        task_routes={TRAIN_TASK: {"queue": names["jobs"]}, PREDICT_TASK: {"queue": names["jobs"]}},
        task_acks_late=True,
        task_acks_on_failure=False,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


def ensure_topology(app: Celery) -> None:
    """Declare the job queue, the dead-letter exchange and its queue.

    The dead-letter queue must exist before anything is rejected, or RabbitMQ
    drops the message; workers only declare the queues they consume.
    """
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in app.conf.task_queues:
            queue.bind(channel).declare()
