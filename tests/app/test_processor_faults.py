"""Poison messages end in the dead-letter queue.

A worker SIGKILLed mid-job is the kill drill in test_exactly_once.py (a kill at every step,
fitting included), so it is not repeated here."""

import time

import kombu

from pipeline_common.queue import queue_names


def dead_letters(stack) -> list:
    """Drain the dead-letter queue, returning the task argument of each message."""
    name = queue_names(stack.prefix)["dead"]
    out = []
    with kombu.Connection(stack.amqp) as conn:
        channel = conn.default_channel
        while (msg := channel.basic_get(name, no_ack=True)) is not None:
            out.append(msg.headers.get("argsrepr") or msg.body)
    return out


def test_a_poison_message_lands_in_the_dead_letter_queue(stack, client):
    from pipeline_common.queue import make_celery, TRAIN_TASK

    stack.start_worker("poison-worker")
    app = make_celery(stack.amqp, stack.prefix)
    app.send_task(TRAIN_TASK, args=["not-a-valid-id!"])
    app.send_task(TRAIN_TASK, args=["0123456789abcdef0123456789abcdef"])  # no such job
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline and len(seen) < 2:
        seen += dead_letters(stack)
        time.sleep(1)
    assert len(seen) == 2
