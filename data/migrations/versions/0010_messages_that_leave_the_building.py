"""Messages that leave the building (issue 14): the outbox and what a clinic edits about it.

* ``outbox_message`` / ``outbox_attempt``: every message to send, written in the transaction
  of the event that causes it, and each try at sending it.
* ``message_opt_out``, ``on_call_contact``, ``message_template``: who hears nothing more,
  who is told of a safety alert and in what order, a clinic's own wording.
* ``measurement_schedule`` (a protocol's schedule, course-and-reporting §4) and
  ``planned_infusion`` (infusions booked ahead move it).
* ``access_link``: one-tap, single-use links (a check-in, an invitation, opting out).
* ``alert_event``: each safety alert's history (raised, notified, escalated, acknowledged).
* ``app_user.email`` / ``phone``: where a clinician is told of an alert about a patient.
* ``clinic_settings``: quiet hours, clinic opening hours and days, the escalation delay,
  at most how many reminders, and when reminders were switched on.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    # Plain ADD COLUMN: a batch rebuild of app_user on SQLite would drop its expression index
    # (unique usernames whatever their case, migration 0005), which SQLite cannot reflect.
    op.add_column("app_user", sa.Column("email", sa.String(length=320), nullable=True))
    op.add_column("app_user", sa.Column("phone", sa.String(length=20), nullable=True))
    with op.batch_alter_table("clinic_settings", schema=None) as batch_op:
        for name, default in (
            ("quiet_hours_start", "21:00"),
            ("quiet_hours_end", "08:00"),
            ("clinic_opens", "08:00"),
            ("clinic_closes", "18:00"),
        ):
            batch_op.add_column(
                sa.Column(name, sa.String(length=5), server_default=default, nullable=False)
            )
        batch_op.add_column(
            sa.Column(
                "clinic_days", sa.String(length=20), server_default="0,1,2,3,4", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("escalation_minutes", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.add_column(
            sa.Column("max_reminders", sa.Integer(), server_default="3", nullable=False)
        )
        batch_op.add_column(sa.Column("reminders_on_since", WHEN, nullable=True))

    op.create_table(
        "on_call_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("on_call_contact", "clinic_id", "clinic"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_on_call_contact_user_id_app_user"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_on_call_contact"),
    )
    op.create_index(
        "ix_on_call_contact_clinic_position", "on_call_contact", ["clinic_id", "position"]
    )

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("on_call_contact_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("lease_until", WHEN, nullable=True),
        sa.Column("leased_by", sa.String(length=100), nullable=True),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _fk("outbox_message", "clinic_id", "clinic"),
        _fk("outbox_message", "patient_id", "patient"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_outbox_message_user_id_app_user"
        ),
        _fk("outbox_message", "on_call_contact_id", "on_call_contact"),
        _fk("outbox_message", "alert_id", "safety_alert"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_message"),
        sa.UniqueConstraint("clinic_id", "dedupe_key", name="uq_outbox_message_clinic_dedupe"),
    )
    op.create_index("ix_outbox_message_due", "outbox_message", ["status", "next_attempt_at"])
    op.create_index(
        "ix_outbox_message_clinic_created", "outbox_message", ["clinic_id", "created_at"]
    )
    op.create_index("ix_outbox_message_patient_id", "outbox_message", ["patient_id"])
    op.create_index("ix_outbox_message_alert_id", "outbox_message", ["alert_id"])

    op.create_table(
        "outbox_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=True),
        _fk("outbox_attempt", "clinic_id", "clinic"),
        _fk("outbox_attempt", "message_id", "outbox_message"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_attempt"),
    )
    op.create_index("ix_outbox_attempt_message_id", "outbox_attempt", ["message_id"])

    op.create_table(
        "message_opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("message_opt_out", "clinic_id", "clinic"),
        _fk("message_opt_out", "patient_id", "patient"),
        sa.PrimaryKeyConstraint("id", name="pk_message_opt_out"),
        sa.UniqueConstraint("patient_id", "channel", name="uq_message_opt_out_patient_channel"),
    )

    op.create_table(
        "message_template",
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        _fk("message_template", "clinic_id", "clinic"),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["app_user.id"], name="fk_message_template_updated_by_id_app_user"
        ),
        sa.PrimaryKeyConstraint("clinic_id", "kind", "channel", name="pk_message_template"),
    )

    op.create_table(
        "measurement_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=200), nullable=False),
        sa.Column("induction_infusions", sa.Integer(), nullable=False),
        sa.Column("points", JSON, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        _fk("measurement_schedule", "clinic_id", "clinic"),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["app_user.id"],
            name="fk_measurement_schedule_updated_by_id_app_user",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_measurement_schedule"),
        sa.UniqueConstraint(
            "clinic_id", "protocol", name="uq_measurement_schedule_clinic_protocol"
        ),
    )

    op.create_table(
        "planned_infusion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("planned_at", WHEN, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("infusion_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", WHEN, nullable=True),
        _fk("planned_infusion", "clinic_id", "clinic"),
        _fk("planned_infusion", "patient_id", "patient"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name="fk_planned_infusion_created_by_id_app_user"
        ),
        _fk("planned_infusion", "infusion_id", "infusion"),
        sa.PrimaryKeyConstraint("id", name="pk_planned_infusion"),
    )
    op.create_index(
        "ix_planned_infusion_patient_time", "planned_infusion", ["patient_id", "planned_at"]
    )

    op.create_table(
        "access_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", JSON, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        _fk("access_link", "clinic_id", "clinic"),
        _fk("access_link", "patient_id", "patient"),
        sa.PrimaryKeyConstraint("id", name="pk_access_link"),
        sa.UniqueConstraint("token_hash", name="uq_access_link_token_hash"),
    )
    op.create_index("ix_access_link_patient_id", "access_link", ["patient_id"])

    op.create_table(
        "alert_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        _fk("alert_event", "clinic_id", "clinic"),
        _fk("alert_event", "alert_id", "safety_alert"),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["app_user.id"], name="fk_alert_event_actor_id_app_user"
        ),
        _fk("alert_event", "message_id", "outbox_message"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_event"),
    )
    op.create_index("ix_alert_event_alert_at", "alert_event", ["alert_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_alert_event_alert_at", table_name="alert_event")
    op.drop_table("alert_event")
    op.drop_index("ix_access_link_patient_id", table_name="access_link")
    op.drop_table("access_link")
    op.drop_index("ix_planned_infusion_patient_time", table_name="planned_infusion")
    op.drop_table("planned_infusion")
    op.drop_table("measurement_schedule")
    op.drop_table("message_template")
    op.drop_table("message_opt_out")
    op.drop_index("ix_outbox_attempt_message_id", table_name="outbox_attempt")
    op.drop_table("outbox_attempt")
    for index in (
        "ix_outbox_message_alert_id",
        "ix_outbox_message_patient_id",
        "ix_outbox_message_clinic_created",
        "ix_outbox_message_due",
    ):
        op.drop_index(index, table_name="outbox_message")
    op.drop_table("outbox_message")
    op.drop_index("ix_on_call_contact_clinic_position", table_name="on_call_contact")
    op.drop_table("on_call_contact")
    with op.batch_alter_table("clinic_settings", schema=None) as batch_op:
        for name in (
            "reminders_on_since",
            "max_reminders",
            "escalation_minutes",
            "clinic_days",
            "clinic_opens",
            "clinic_closes",
            "quiet_hours_end",
            "quiet_hours_start",
        ):
            batch_op.drop_column(name)
    op.drop_index("uq_app_user_username_lower", table_name="app_user")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("phone")
        batch_op.drop_column("email")
    op.create_index(
        "uq_app_user_username_lower", "app_user", [sa.text("lower(username)")], unique=True
    )
