"""A contact phone for each patient, where the clinic recorded one.

* ``patient.phone``: the number as typed, for the worklist and the patient header ("contact
  phone where recorded", issue 11). Nullable: existing patients have none until a clinician
  records one. What it may hold is :mod:`data.patients`' rule (at most 20 digits, so 40
  characters leave room for spaces and punctuation).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("phone")
