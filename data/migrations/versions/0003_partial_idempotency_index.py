"""Form keys unique per clinic through a partial index, so imported rows skip it.

Imported records have no form key; a unique constraint still indexed every one of them as
(clinic, NULL), a quarter of a bulk import's write time on SQLite. NULLs never collide in a
unique index on either database, so leaving them out changes no answer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HAS_KEY = sa.text("idempotency_key IS NOT NULL")


def upgrade() -> None:
    # SQLite cannot drop a table's inline constraint: batch mode rebuilds the table.
    with op.batch_alter_table("assessment") as batch:
        batch.drop_constraint("uq_assessment_clinic_id", type_="unique")
    op.create_index(
        "uq_assessment_clinic_idempotency_key",
        "assessment",
        ["clinic_id", "idempotency_key"],
        unique=True,
        sqlite_where=_HAS_KEY,
        postgresql_where=_HAS_KEY,
    )


def downgrade() -> None:
    op.drop_index("uq_assessment_clinic_idempotency_key", table_name="assessment")
    with op.batch_alter_table("assessment") as batch:
        batch.create_unique_constraint("uq_assessment_clinic_id", ["clinic_id", "idempotency_key"])
