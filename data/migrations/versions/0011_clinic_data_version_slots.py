"""A clinic's data version as counters a write bumps one of, not one row (issue 13).

``clinic.data_version`` (migration 0009) was one row every write of a clinic updated: on
PostgreSQL each check-in then waited for the one before it to commit (its row lock is held
through the commit), and the load benchmark's p95 went from 22 to 130 ms. The version is now
the sum of ``clinic_data_version.version`` over a clinic's slots; a write bumps its patient's
slot only. The old value is kept as slot 0, so a version never goes back.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clinic_data_version",
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name="fk_clinic_data_version_clinic_id_clinic"
        ),
        sa.PrimaryKeyConstraint("clinic_id", "slot", name="pk_clinic_data_version"),
    )
    op.execute(
        "INSERT INTO clinic_data_version (clinic_id, slot, version)"
        " SELECT id, 0, data_version FROM clinic"
    )
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("data_version")


def downgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("data_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE clinic SET data_version = (SELECT coalesce(sum(version), 0)"
        " FROM clinic_data_version WHERE clinic_data_version.clinic_id = clinic.id)"
    )
    op.drop_table("clinic_data_version")
