"""Each patient's course state, kept current on write, and a clinic's data version (issue 13).

* ``patient_state``: one row per patient (infusions, last check-in, next due, open alerts).
* ``course_state``: one row per patient and instrument with the course facts of
  :func:`outcomes.course.course_facts` (baseline, response, remission, relapse, standing
  status, episodes) and what the outcomes page aggregates.
* ``clinic.data_version``: bumped by every write that changes a course; cached aggregates
  are keyed on it.

Both tables start empty here: ``data.schema.upgrade`` fills them from the answers
(``data.course_state.build_missing``), with the same code every write uses.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("data_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "patient_state",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("infusions", sa.Integer(), nullable=False),
        sa.Column("first_infusion_date", sa.Date(), nullable=True),
        sa.Column("last_infusion_date", sa.Date(), nullable=True),
        sa.Column("last_checkin_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("open_alerts", sa.Integer(), nullable=False),
        sa.Column("oldest_open_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name="fk_patient_state_clinic_id_clinic"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name="fk_patient_state_patient_id_patient"
        ),
        sa.PrimaryKeyConstraint("patient_id", name="pk_patient_state"),
    )
    op.create_index("ix_patient_state_clinic_id", "patient_state", ["clinic_id"])
    op.create_table(
        "course_state",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("first_infusion_date", sa.Date(), nullable=True),
        sa.Column("last_infusion_date", sa.Date(), nullable=True),
        sa.Column("infusions", sa.Integer(), nullable=False),
        sa.Column("completed_induction", sa.Boolean(), nullable=False),
        sa.Column("baseline_date", sa.Date(), nullable=True),
        sa.Column("baseline_total", sa.Integer(), nullable=True),
        sa.Column("latest_date", sa.Date(), nullable=True),
        sa.Column("latest_total", sa.Integer(), nullable=True),
        sa.Column("last_administered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_date", sa.Date(), nullable=True),
        sa.Column("days_to_response", sa.Integer(), nullable=True),
        sa.Column("infusions_to_response", sa.Integer(), nullable=True),
        sa.Column("remission_date", sa.Date(), nullable=True),
        sa.Column("days_to_remission", sa.Integer(), nullable=True),
        sa.Column("relapse_date", sa.Date(), nullable=True),
        sa.Column("durable_response_days", sa.Integer(), nullable=True),
        sa.Column("censored", sa.Boolean(), nullable=False),
        sa.Column("followup_days", sa.Integer(), nullable=True),
        sa.Column("standing_status", sa.String(length=32), nullable=False),
        sa.Column("episodes", JSON, nullable=False),
        sa.Column("timepoints", JSON, nullable=True),
        sa.Column("scored_days", JSON, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name="fk_course_state_clinic_id_clinic"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name="fk_course_state_patient_id_patient"
        ),
        sa.PrimaryKeyConstraint("patient_id", "instrument", name="pk_course_state"),
    )
    op.create_index(
        "ix_course_state_clinic_instrument", "course_state", ["clinic_id", "instrument"]
    )


def downgrade() -> None:
    op.drop_index("ix_course_state_clinic_instrument", table_name="course_state")
    op.drop_table("course_state")
    op.drop_index("ix_patient_state_clinic_id", table_name="patient_state")
    op.drop_table("patient_state")
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("data_version")
