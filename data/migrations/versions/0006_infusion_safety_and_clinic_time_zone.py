"""Infusions recorded once and entered in error, weights, and the clinic's time zone.

* ``infusion.weight_kg``: the weight a dose was given for, so mg/kg is computed from what was
  measured rather than typed twice.
* ``infusion.entered_in_error_at``, ``entered_in_error_by_id``, ``entered_in_error_reason``: a
  clinician marks an infusion entered in error; the row is kept for the record and the audit
  trail, and no longer counted (course outcomes, infusion numbers, cohort reads, exports).
* ``clinic_settings.time_zone``: the IANA name of the clinic's own time zone, in which the
  infusion form's times are entered. Existing clinics get "UTC", which is what the form
  assumed until now, so no stored time changes meaning.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add a foreign key to an existing table any other way.
    with op.batch_alter_table("infusion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weight_kg", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("entered_in_error_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("entered_in_error_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            "fk_infusion_entered_in_error_by_id_app_user",
            "app_user",
            ["entered_in_error_by_id"],
            ["id"],
        )
    with op.batch_alter_table("clinic_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC")
        )


def downgrade() -> None:
    with op.batch_alter_table("clinic_settings", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
    with op.batch_alter_table("infusion", schema=None) as batch_op:
        batch_op.drop_constraint("fk_infusion_entered_in_error_by_id_app_user", type_="foreignkey")
        batch_op.drop_column("entered_in_error_reason")
        batch_op.drop_column("entered_in_error_by_id")
        batch_op.drop_column("entered_in_error_at")
        batch_op.drop_column("weight_kg")
