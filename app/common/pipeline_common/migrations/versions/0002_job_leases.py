"""job leases: a running job is held by one worker until its lease expires"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("jobs", sa.Column("lease_owner", sa.String(100)))
    op.add_column("jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True)))
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])


def downgrade():
    op.drop_index("ix_jobs_created_at", "jobs")
    op.drop_column("jobs", "lease_expires_at")
    op.drop_column("jobs", "lease_owner")
