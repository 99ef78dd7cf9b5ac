"""Get a database ready for the app: schema up to date, demo clinic on a fresh embedded one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from data.demo import DEMO_SIGN_INS, DemoSignIn, seed_demo
from data.engine import DatabaseDamaged, database_damaged, ensure_intact, transaction
from data.models import Clinic
from data.schema import upgrade


@dataclass(frozen=True)
class Readiness:
    """What :func:`prepare` found or did.

    Attributes
    ----------
    seeded_demo : bool
        The demo clinic was created just now.
    demo : bool
        The database holds the demo clinic and nothing else, so its public demo sign-ins may
        be shown. False as soon as any real clinic is in it.
    """

    seeded_demo: bool
    demo: bool


def prepare(engine: Engine, *, seed_demo_if_empty: bool = True) -> Readiness:
    """Check the file, upgrade the schema, seed the demo clinic if there is no clinic at all.

    Raises
    ------
    DatabaseDamaged
        SQLite's ``quick_check`` finds the file damaged (or it is not a database at all);
        nothing was written. Its message says what to do (restore the newest backup).
    """
    try:
        ensure_intact(engine)
        upgrade(engine)
        with transaction(engine, write=True) as session:
            clinics = session.scalars(select(Clinic)).all()
            if not clinics and seed_demo_if_empty:
                seed_demo(session)
                return Readiness(seeded_demo=True, demo=True)
            return Readiness(seeded_demo=False, demo=_demo_only(clinics))
    except DBAPIError as error:
        if database_damaged(error):
            raise DatabaseDamaged((str(error.orig),)) from error
        raise


def _demo_only(clinics: Sequence[Clinic]) -> bool:
    # A database holds the demo clinic or real clinics; one that somehow holds both is
    # treated as real, so the public demo passwords are never advertised beside real records.
    return bool(clinics) and all(clinic.is_demo for clinic in clinics)


def demo_signins(session: Session) -> tuple[DemoSignIn, ...]:
    """The demo accounts, but only while the database holds the demo clinic and nothing else."""
    clinics = session.scalars(select(Clinic)).all()
    if _demo_only(clinics):
        return DEMO_SIGN_INS
    return ()
