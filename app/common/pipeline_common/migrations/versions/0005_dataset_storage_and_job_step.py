"""datasets.profile, datasets.size_bytes and jobs.step: data at size (issue #23)

- `datasets.profile`: the data set's profile, computed once while the upload is converted to
  Parquet (null for data sets uploaded before: the API computes and stores it on first request).
- `datasets.size_bytes`: the size of the file as uploaded (null for older data sets).
- `jobs.step`: the step a running job is in (e.g. `loading`, `fitting`), written as it enters
  each one, so a job whose worker was killed can say where it died.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("datasets", sa.Column("profile", sa.JSON()))
    op.add_column("datasets", sa.Column("size_bytes", sa.BigInteger()))
    op.add_column("jobs", sa.Column("step", sa.String(40)))


def downgrade():
    op.drop_column("jobs", "step")
    op.drop_column("datasets", "size_bytes")
    op.drop_column("datasets", "profile")
