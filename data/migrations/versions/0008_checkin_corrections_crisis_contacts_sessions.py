"""Corrections of check-ins, the crisis panel's contacts, patients' reminder contacts, what
an audit entry was about, and signed-in sessions that survive a reload (issue 12).

* ``assessment.corrects_id`` / ``superseded_at``: a patient's correction is a new row naming
  the one it corrects, which is marked superseded. Both are kept; outcomes use the latest.
* ``clinic_settings.crisis_call_number``, ``crisis_text_number``, ``emergency_number``,
  ``clinic_hours``: the crisis panel's tappable numbers and the hours the care team reads
  alerts. NULL means the defaults (988, 988, 911; hours not stated).
* ``patient.email``, ``patient.preferred_language``: contact for reminders, and the
  language they are written in.
* ``audit_event.subject``: what the action was done to ("account demo-admin", "alert 12"),
  never patient data.
* ``user_session``: one row per signed-in browser; only the token's SHA-256 is kept.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add a foreign key to an existing table any other way.
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("corrects_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_assessment_corrects_id_assessment", "assessment", ["corrects_id"], ["id"]
        )
    with op.batch_alter_table("clinic_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crisis_call_number", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("crisis_text_number", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("emergency_number", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("clinic_hours", sa.Text(), nullable=True))
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("preferred_language", sa.String(length=35), nullable=True))
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=200), nullable=True))
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_hash", sa.String(length=64), nullable=True),
        sa.Column("ticket_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_user_session_user_id_app_user"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_user_session"),
        sa.UniqueConstraint("token_hash", name="uq_user_session_token_hash"),
        sa.UniqueConstraint("ticket_hash", name="uq_user_session_ticket_hash"),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("subject")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("preferred_language")
        batch_op.drop_column("email")
    with op.batch_alter_table("clinic_settings", schema=None) as batch_op:
        batch_op.drop_column("clinic_hours")
        batch_op.drop_column("emergency_number")
        batch_op.drop_column("crisis_text_number")
        batch_op.drop_column("crisis_call_number")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_constraint("fk_assessment_corrects_id_assessment", type_="foreignkey")
        batch_op.drop_column("superseded_at")
        batch_op.drop_column("corrects_id")
