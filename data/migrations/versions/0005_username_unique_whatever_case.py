"""Usernames unique whatever their case: a unique index on lower(username).

Single sign-on looks accounts up case-insensitively, so "Demo-Admin" could resolve to another
account (another clinic's "demo-admin"). The index makes two such names impossible; sign-in
and single sign-on look usernames up through the same lower() the index uses.

A database that already holds names differing only in case is refused with the ids of the
accounts involved (not their names, which may be a patient's email address); nothing is
changed, and the upgrade can run again once one account of each pair is renamed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from data.errors import InvalidInput

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SHOWN = 20


def upgrade() -> None:
    colliding = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT id FROM app_user WHERE lower(username) IN ("
                " SELECT lower(username) FROM app_user"
                " GROUP BY lower(username) HAVING count(*) > 1)"
                " ORDER BY lower(username), id"
            )
        )
        .scalars()
        .all()
    )
    if colliding:
        shown = ", ".join(str(i) for i in colliding[:_SHOWN])
        more = f" and {len(colliding) - _SHOWN} more" if len(colliding) > _SHOWN else ""
        raise InvalidInput(
            [
                f"{len(colliding)} accounts have usernames that differ only in upper and lower "
                f"case (account ids {shown}{more}); usernames must now be unique whatever "
                "their case. Rename all but one of each (or disable and rename them) and run "
                "the upgrade again; nothing was changed"
            ]
        )
    op.create_index(
        "uq_app_user_username_lower", "app_user", [sa.text("lower(username)")], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_app_user_username_lower", table_name="app_user")
