"""A covering index for clinic-wide reads of totals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assessment") as batch:
        batch.drop_index("ix_assessment_clinic_instrument_time")
        batch.create_index(
            "ix_assessment_clinic_instrument_patient_time",
            ["clinic_id", "instrument", "patient_id", "administered_at", "valid", "total"],
        )


def downgrade() -> None:
    with op.batch_alter_table("assessment") as batch:
        batch.drop_index("ix_assessment_clinic_instrument_patient_time")
        batch.create_index(
            "ix_assessment_clinic_instrument_time", ["clinic_id", "instrument", "administered_at"]
        )
