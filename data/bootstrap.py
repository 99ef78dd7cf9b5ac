"""Get a database ready for the app: schema up to date, demo clinic on a fresh embedded one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from data.demo import DEMO_SIGN_INS, DemoSignIn, seed_demo
from data.engine import transaction
from data.models import Clinic
from data.schema import upgrade


@dataclass(frozen=True)
class Readiness:
    """What :func:`prepare` found or did."""

    seeded_demo: bool
    demo: bool


def prepare(engine: Engine, *, seed_demo_if_empty: bool = True) -> Readiness:
    """Upgrade the schema; seed the demo clinic if the database has no clinic at all."""
    upgrade(engine)
    with transaction(engine, write=True) as session:
        clinics = session.scalars(select(Clinic)).all()
        if not clinics and seed_demo_if_empty:
            seed_demo(session)
            return Readiness(seeded_demo=True, demo=True)
        return Readiness(seeded_demo=False, demo=any(c.is_demo for c in clinics))


def demo_signins(session: Session) -> tuple[DemoSignIn, ...]:
    """The demo accounts, but only while the database holds the demo clinic and nothing else."""
    clinics = session.scalars(select(Clinic)).all()
    if clinics and all(c.is_demo for c in clinics):
        return DEMO_SIGN_INS
    return ()
