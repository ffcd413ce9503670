"""notify `job_finished` (payload: the job id) when a job reaches a final status

The API's `GET /jobs/{id}?wait=S` listens on this channel, so a waiting client is answered
at the worker's commit instead of at its next poll. PostgreSQL delivers the notification
only when the finishing transaction commits.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION notify_job_finished() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('job_finished', NEW.id);
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        """
        CREATE TRIGGER job_finished AFTER UPDATE OF status ON jobs FOR EACH ROW
        WHEN (NEW.status IN ('succeeded', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION notify_job_finished();
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS job_finished ON jobs")
    op.execute("DROP FUNCTION IF EXISTS notify_job_finished()")
