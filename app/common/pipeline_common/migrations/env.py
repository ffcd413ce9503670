from alembic import context

from pipeline_common.db import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    # Serialise concurrent start-ups of several API replicas.
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
