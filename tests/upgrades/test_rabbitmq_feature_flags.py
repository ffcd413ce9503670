"""RabbitMQ's bootstrap enables every stable feature flag, so the next release series finds them on.

The node here is Debian's rabbitmq-server, started with only one flag enabled at initialisation
(`RABBITMQ_FEATURE_FLAGS`, read by rabbit_env.erl as `forced_feature_flags_on_init`): a node whose data an older
release created, before the flags it lacks existed. The catalog's script then runs as the Docker target runs it
(`sh -s`, the script on stdin) with the node's environment.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from infra.services.data.rabbitmq import FEATURE_FLAGS_BOOTSTRAP
from tests.app.services import Processes, RabbitMQ

#: Debian's own CLI scripts, as the image has its `rabbitmqctl` on PATH; /usr/sbin/rabbitmqctl would switch to the
#: rabbitmq user and its home, whose Erlang cookie is not this node's.
CLI_PATH = {"PATH": f"/usr/lib/rabbitmq/bin:{os.environ['PATH']}"}


def flag_states(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "--quiet", "list_feature_flags", "--formatter", "json", "name", "state"],
                         env={**os.environ, **env, **CLI_PATH}, capture_output=True, text=True, check=True).stdout  # fmt: skip
    import json

    return {f["name"]: f["state"] for f in json.loads(out)}


@pytest.fixture
def node():
    procs = Processes(Path(tempfile.mkdtemp(prefix="rabbitmq-flags-")))
    broker = RabbitMQ(procs)
    broker.env["RABBITMQ_FEATURE_FLAGS"] = "quorum_queue"
    broker.start()
    yield broker
    procs.stop_all(timeout=60)


def test_the_bootstrap_enables_every_flag_an_older_node_left_off(node):
    before = flag_states(node.env)
    assert "disabled" in before.values()
    done = subprocess.run(["sh", "-s"], input=FEATURE_FLAGS_BOOTSTRAP, env={**os.environ, **node.env, **CLI_PATH}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = flag_states(node.env)
    assert set(after) == set(before) and set(after.values()) == {"enabled"}


def test_the_bootstrap_is_idempotent(node):
    for _ in range(2):
        done = subprocess.run(["sh", "-s"], input=FEATURE_FLAGS_BOOTSTRAP, env={**os.environ, **node.env, **CLI_PATH}, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
