"""Two APIs starting at once on a new database migrate it once: Alembic runs under a PostgreSQL
advisory lock (pipeline_common/migrations/env.py), so a rolling update's new replica and an old one
restarting never race each other's migrations (issue #24)."""

import os
from concurrent.futures import ThreadPoolExecutor

import psycopg


def test_two_apis_starting_at_once_on_a_new_database_both_come_up_on_one_migrated_schema(stack):
    database = "pipeline_" + os.urandom(3).hex()
    with psycopg.connect(f"{stack.pg}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")  # as the PostgreSQL bootstrap creates `pipeline`
    url = f"{stack.pg}/{database}"
    with ThreadPoolExecutor(2) as pool:
        started = list(pool.map(lambda name: stack.start_api(name, DATABASE_URL=url), ["twin-api-1", "twin-api-2"]))
    assert len(set(started)) == 2  # both answered /health
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0005",)]
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'jobs' AND column_name = 'step'").fetchone() == (1,)
