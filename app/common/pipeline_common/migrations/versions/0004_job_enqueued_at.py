"""jobs.enqueued_at: when a queued job's message was last published again

Null until the job is released by a worker (a dependency was unavailable) or re-published by
the reconciler; the reconciler measures a queued job's wait from it (or from created_at), so it
publishes a job again at most once per grace period.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("jobs", sa.Column("enqueued_at", sa.DateTime(timezone=True)))


def downgrade():
    op.drop_column("jobs", "enqueued_at")
