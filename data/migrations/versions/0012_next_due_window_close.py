"""When the next check-in's window closes, and every patient's state rebuilt (issue 14).

``patient_state.next_due_closes``: the last clinic day of the window of the next check-in.
The worklist's "overdue" starts after it; counting a fixed number of days from the due date
flagged a patient overdue while a long window (the end of induction's 14 to 31 days) was
still open.

The measurement schedule (course-and-reporting §4) now decides "next due", where the weekly
cadence did: the stored state of every patient is emptied here, and ``data.schema.upgrade``
rebuilds it from the records (``data.course_state.build_missing``), with the code every
write uses.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due_closes", sa.Date(), nullable=True))
    # Rebuilt on upgrade by the schedule's rule (build_missing).
    op.execute("DELETE FROM course_state")
    op.execute("DELETE FROM patient_state")


def downgrade() -> None:
    with op.batch_alter_table("patient_state", schema=None) as batch_op:
        batch_op.drop_column("next_due_closes")
