"""`outcomes init`, `seed-demo`, `create-user`, `set-time-zone` and `set-crisis-contacts`: a
database, its clinic, its staff, its time zone and its crisis panel."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

import typer

# Only light modules here, so that `outcomes --help` answers at once: each command imports
# what it uses when it runs (data/cli/common.py says why).
from data.cli.common import (
    NEW_REAL_DATABASE,
    ClinicChoice,
    DatabaseUrl,
    PasswordStdin,
    StaffRole,
    app,
    clinic_id_of,
    fail,
    holds_demo,
    open_engine,
    read_password,
    refusals,
)


@app.command()
def init(
    clinic_name: Annotated[
        str | None,
        typer.Option("--clinic-name", help="Create this clinic unless it exists."),
    ] = None,
    admin_username: Annotated[
        str | None,
        typer.Option("--admin-username", help="Also create the clinic's first administrator."),
    ] = None,
    admin_display_name: Annotated[
        str | None, typer.Option("--admin-display-name", help="The administrator's full name.")
    ] = None,
    password_stdin: PasswordStdin = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create or upgrade the database schema; create a clinic and its first administrator.

    Safe to run again: the schema is only upgraded, and an existing clinic of that name is
    reused. A database holds the demo clinic or real clinics, never both: in a demo database
    no clinic or account is created. Example:
    outcomes init --clinic-name "Lakeside Ketamine" --admin-username ana
    """
    from sqlalchemy import select

    from data import audit
    from data.access import Actor
    from data.account_admin import create_user as create_account
    from data.engine import transaction
    from data.models import Clinic
    from data.schema import upgrade

    if password_stdin and not admin_username:
        fail("--password-stdin needs --admin-username")
    if clinic_name is not None and not 0 < len(clinic_name.strip()) <= 200:
        fail("the clinic name needs 1 to 200 characters")
    password = read_password(password_stdin) if admin_username else None
    with open_engine(database_url, create=True) as engine, refusals():
        demo = holds_demo(engine)
        if demo and (clinic_name is not None or admin_username):
            fail(
                "this database holds the demo clinic (synthetic records, public passwords), "
                "and a real clinic never shares a database with it. Start the real clinic in a "
                f"new database: {NEW_REAL_DATABASE}"
            )
        upgrade(engine)
        with transaction(engine, write=True) as session:
            clinic_id: int | None = None
            created = False
            if clinic_name is not None:
                name = clinic_name.strip()
                clinic_id = session.scalar(select(Clinic.id).where(Clinic.name == name))
                if clinic_id is None:
                    clinic = Clinic(name=name, is_demo=False)
                    session.add(clinic)
                    session.flush()
                    clinic_id, created = clinic.id, True
                    audit.record(
                        session, actor=Actor.system(clinic_id), action=audit.Action.CREATE_CLINIC
                    )
            elif admin_username:
                clinic_id = clinic_id_of(session, None)
            if admin_username and clinic_id is not None and password is not None:
                create_account(
                    session,
                    actor=Actor.system(clinic_id),
                    username=admin_username,
                    password=password,
                    role="administrator",
                    display_name=admin_display_name or admin_username,
                )
            any_clinic = session.scalar(select(Clinic.id).limit(1))
    typer.echo("the database schema is up to date")
    if created:
        typer.echo(f"created clinic {clinic_id}")
    elif clinic_id is not None:
        typer.echo(f"clinic {clinic_id} exists already")
    if admin_username:
        typer.echo(f"created the administrator account {admin_username!r}")
    if any_clinic is None:
        typer.echo("no clinic yet: run `outcomes init --clinic-name NAME` to create one")
    if demo:
        typer.echo(
            "this database holds the demo clinic; to start a real clinic, use a new database: "
            + NEW_REAL_DATABASE
        )


@app.command("seed-demo")
def seed_demo_command(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same clinic.")] = 2026,
    patients: Annotated[int, typer.Option(help="How many synthetic patients.")] = 150,
    today: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The demo clinic's 'today' (YYYY-MM-DD)."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create the demo clinic: about 18 months of entirely synthetic records.

    Refused in a database that holds a real clinic. Example: outcomes seed-demo --patients 60
    """
    from data.demo import seed_demo
    from data.engine import transaction
    from data.schema import upgrade

    with open_engine(database_url, create=True) as engine, refusals():
        upgrade(engine)
        with transaction(engine, write=True) as session:
            summary = seed_demo(
                session, seed=seed, patients=patients, today=today.date() if today else None
            )
    typer.echo("created the demo clinic (synthetic data only):")
    for field in dataclasses.fields(summary):
        value = getattr(summary, field.name)
        if isinstance(value, tuple):
            # The demo sign-ins: public, synthetic accounts, meant to be shown.
            typer.echo(f"  {field.name}:")
            for item in value:
                parts = [str(getattr(item, name, "")) for name in ("username", "password", "role")]
                typer.echo("    " + " / ".join(part for part in parts if part))
        else:
            typer.echo(f"  {field.name}: {value}")


@app.command("create-user")
def create_user(
    role: Annotated[StaffRole, typer.Option("--role", help="clinician or administrator.")],
    username: Annotated[str, typer.Option("--username", help="The sign-in name.")],
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Full name shown in the app.")
    ] = None,
    password_stdin: PasswordStdin = False,
    clinic: ClinicChoice = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a staff account; the password is prompted for (hidden) or read from stdin.

    Patient sign-ins belong to a patient's record and are never made here (issue #12 adds
    making them from the record).
    Example: outcomes create-user --role clinician --username lee --password-stdin < pw.txt
    """
    from data.access import Actor
    from data.account_admin import create_user as create_account
    from data.engine import transaction

    password = read_password(password_stdin)
    with (
        open_engine(database_url) as engine,
        refusals(),
        transaction(engine, write=True) as session,
    ):
        create_account(
            session,
            actor=Actor.system(clinic_id_of(session, clinic)),
            username=username,
            password=password,
            role=role.value,
            display_name=display_name or username,
        )
    typer.echo(f"created the {role.value} account {username!r}")


@app.command("set-time-zone")
def set_time_zone(
    time_zone: Annotated[
        str, typer.Argument(help="The clinic's IANA time zone name, e.g. America/New_York.")
    ],
    clinic: ClinicChoice = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the time zone in which the clinic's staff enter infusion times.

    A clinic set up before this setting existed uses UTC. Set once, by the operator who set up
    the clinic (like ``init``), rather than on a page: changing it changes how every time typed
    afterwards is read. Example: outcomes set-time-zone America/New_York
    """
    from data.access import Actor
    from data.clinic import set_clinic_time_zone
    from data.engine import transaction

    with (
        open_engine(database_url) as engine,
        refusals(),
        transaction(engine, write=True) as session,
    ):
        set_clinic_time_zone(
            session, actor=Actor.system(clinic_id_of(session, clinic)), time_zone=time_zone
        )
    typer.echo(f"the clinic's time zone is now {time_zone.strip()}")


@app.command("set-crisis-contacts")
def set_crisis_contacts_command(
    call: Annotated[
        str | None,
        typer.Option(
            "--call", help='The crisis line to call, digits only (default 988; "" resets).'
        ),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option(
            "--text", help='The crisis line to text, digits only (default 988; "" resets).'
        ),
    ] = None,
    emergency: Annotated[
        str | None,
        typer.Option(
            "--emergency", help='The emergency number, digits only (default 911; "" resets).'
        ),
    ] = None,
    hours: Annotated[
        str | None,
        typer.Option(
            "--hours",
            help='When the care team reads alerts, e.g. "Mon-Fri 8 am to 6 pm" ("" resets).',
        ),
    ] = None,
    crisis_text: Annotated[
        str | None,
        typer.Option(
            "--crisis-text",
            help='The crisis panel\'s own text, plain ("" goes back to the default text).',
        ),
    ] = None,
    clinic: ClinicChoice = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set what a patient's crisis panel says and dials: numbers, the clinic's hours, its text.

    Only what is given changes; an empty value goes back to the default (988 to call and text,
    911, "during clinic hours", the default text). The administrator can change the same on
    the "Clinic settings" page. Example:
    outcomes set-crisis-contacts --hours "Monday to Friday, 8 am to 6 pm" --emergency 112
    """
    from data.access import Actor
    from data.clinic import clinic_config, set_crisis_contacts
    from data.engine import transaction

    with (
        open_engine(database_url) as engine,
        refusals(),
        transaction(engine, write=True) as session,
    ):
        clinic_id = clinic_id_of(session, clinic)
        set_crisis_contacts(
            session,
            actor=Actor.system(clinic_id),
            crisis_call_number=call,
            crisis_text_number=text,
            emergency_number=emergency,
            clinic_hours=hours,
            crisis_text=crisis_text,
        )
        config = clinic_config(session, clinic_id)
    typer.echo(
        f"the crisis panel dials {config.crisis_call_number} (call), "
        f"{config.crisis_text_number} (text) and {config.emergency_number} (emergency); "
        f"clinic hours: {config.clinic_hours or 'not stated'}; "
        + ("text: the clinic's own" if config.custom_crisis_text else "text: the default")
    )
