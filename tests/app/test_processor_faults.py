"""Poison messages end in the dead-letter queue.

A worker SIGKILLed mid-job is the kill drill in test_exactly_once.py (a kill at every step,
fitting included), so it is not repeated here."""

import time


def test_a_poison_message_lands_in_the_dead_letter_queue(stack, client):
    from pipeline_common.queue import make_celery, TRAIN_TASK

    stack.start_worker("poison-worker")
    app = make_celery(stack.amqp, stack.prefix)
    app.send_task(TRAIN_TASK, args=["not-a-valid-id!"])
    app.send_task(TRAIN_TASK, args=["0123456789abcdef0123456789abcdef"])  # no such job
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline and len(seen) < 2:
        seen += stack.dead_letters()
        time.sleep(1)
    assert len(seen) == 2
