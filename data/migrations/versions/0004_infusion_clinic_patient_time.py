"""Infusions indexed by clinic, patient and time, in place of clinic alone.

Clinic-wide reads start from each patient's first infusion (weekly aggregates, cohort
outcomes): with the patient and time in the index that is an index-only scan in patient
order instead of a visit to every infusion row. The clinic-only index is a prefix of it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_infusion_clinic_patient_time",
        "infusion",
        ["clinic_id", "patient_id", "administered_at"],
    )
    op.drop_index("ix_infusion_clinic_id", table_name="infusion")


def downgrade() -> None:
    op.create_index("ix_infusion_clinic_id", "infusion", ["clinic_id"])
    op.drop_index("ix_infusion_clinic_patient_time", table_name="infusion")
