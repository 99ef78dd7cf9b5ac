"""Questionnaire administrations from any format: checked, scored, and stored all or none.

A reader (:mod:`data.interchange.csv_assessments`, :mod:`data.interchange.fhir_read`) builds an
:class:`~data.interchange.pipeline.AdministrationTable`; :func:`prepare_administrations` checks it
against the clinic and scores it without writing, and the :class:`PreparedImport` it returns
writes the records through the one writer of assessments (:mod:`data.records.assessments`),
with their safety alerts and one audit event per patient. The rules are in
:mod:`data.interchange.pipeline`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.orm import Session

from data import audit
from data.access import Actor, ensure_role
from data.clinic import clinic_config
from data.course_state import refresh_patients
from data.errors import InvalidInput
from data.interchange import bulk
from data.interchange.checks import (
    check_patient_ids,
    epoch_us,
    first_of_repeats,
    from_epoch_us,
    in_future,
    refuse_if,
)
from data.interchange.csv_read import add_problem
from data.interchange.pipeline import (
    AdministrationTable,
    ImportResult,
    PreparedImport,
    ProgressCallback,
    RecordCheck,
    report_progress,
)
from data.interchange.scoring import NewAssessments, instrument_ids, new_rows, score_group
from data.interchange.stored import check_administration_records
from data.models import utcnow
from data.records.alerts import HISTORICAL_ALERT_AGE, alerts_for_answers, write_alerts
from data.records.assessments import AssessmentRows, copy_staged_assessments, write_assessments
from outcomes import get_instrument

__all__ = ["prepare_administrations", "store_administrations"]


# Staging (see PreparedImport.stage): the staged rows carry, instead of their patient's id, a
# slot (an index into _Staged.patients), because a new patient gets its id only when the write
# registers it; the write fills a small table of slot -> id and joins it.
@dataclass
class _Staged:
    """Rows copied to a TEMP table of one connection by :meth:`PreparedImport.stage`."""

    table: str  # unique per import: found only on the connection that staged it
    skip: npt.NDArray[np.bool_]  # the stored records skipped when the rows were staged
    patients: list[str]  # patient keys by slot
    rows: NewAssessments  # in staged order (the table's seq); patient_id holds the slot

    @property
    def slots(self) -> str:
        return f"{self.table}_patient"

    def on(self, session: Session) -> bool:
        found = session.connection().exec_driver_sql(
            "SELECT count(*) FROM temp.sqlite_master WHERE type = 'table' AND name = ?",
            (self.table,),
        )
        return bool(found.scalar())


def _written(rows: NewAssessments) -> AssessmentRows:
    return AssessmentRows(
        patient_id=rows.patient_id,
        instrument=rows.instrument,
        administered_at=rows.at,
        answers=rows.answers,
        total=rows.total,
        severity=rows.severity,
        flags=rows.flags,
    )


class _PreparedAdministrations(PreparedImport):
    def __init__(
        self,
        *,
        actor: Actor,
        checked_in: Session,
        now: dt.datetime,
        historical_after: dt.timedelta,
        create_patients: bool,
        table: AdministrationTable,
        usable: pd.Series,
        keys: pd.DataFrame,
        rules: Any,
        rows: NewAssessments,
        check: RecordCheck,
        warnings: Sequence[str],
    ) -> None:
        super().__init__(
            actor=actor, checked_in=checked_in, now=now, labels=table.labels, check=check
        )
        self.historical_after = historical_after
        self.create_patients = create_patients
        self.table = table
        self.usable = usable
        self.keys = keys
        self.rules = rules
        self.rows = rows
        self.warnings = tuple(warnings)
        self._staged: _Staged | None = None

    def stage(self, session: Session) -> None:
        self.release(session)
        if session.connection().dialect.name != "sqlite":
            return  # PostgreSQL's COPY writes beside check-ins already (MVCC)
        rows = self.rows.without(self.check.skip)
        if not rows.position:
            return
        known, new = self.check.patients.known, self.check.patients.new
        # Slots in the order of the ids the patients have or will get, so that the staged
        # order is the order the write would use (see NewAssessments.in_patient_order).
        patients = [*sorted(known, key=known.__getitem__), *new]
        slot_of = {key: slot for slot, key in enumerate(patients)}
        keys = self.table.patient.to_numpy(dtype=object)[np.asarray(rows.position, dtype=np.intp)]
        rows = replace(rows, patient_id=[slot_of[key] for key in keys]).in_patient_order()
        table = f"import_staging_{uuid.uuid4().hex}"
        bulk.stage_rows(
            session,
            table,
            list(
                zip(
                    rows.patient_id,
                    rows.instrument,
                    bulk.time_texts(rows.at, "sqlite"),
                    rows.answers,
                    rows.total,
                    rows.severity,
                    rows.flags,
                    strict=True,
                )
            ),
        )
        self._staged = _Staged(
            table=table, skip=self.check.skip.copy(), patients=patients, rows=rows
        )

    def release(self, session: Session) -> None:
        staged, self._staged = self._staged, None
        if staged is not None and staged.on(session):
            connection = session.connection()
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{staged.table}")
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{staged.slots}")

    def _write_staged(
        self,
        session: Session,
        staged: _Staged,
        patient_ids: Mapping[str, int],
        progress: ProgressCallback | None,
    ) -> tuple[list[int], list[int], NewAssessments]:
        """Copy the staged rows; their ids, and the patient id of each slot."""
        connection = session.connection()
        total = len(staged.rows.position)
        report_progress(progress, 0, total)
        slot_ids = [patient_ids[key] for key in staged.patients]
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE {staged.slots} (slot INTEGER PRIMARY KEY, patient_id INTEGER)"
        )
        connection.exec_driver_sql(
            f"INSERT INTO temp.{staged.slots} VALUES (?, ?)", list(enumerate(slot_ids))
        )
        ids = copy_staged_assessments(
            session,
            staged=staged.table,
            slots=staged.slots,
            count=total,
            clinic_id=self.actor.clinic_id,
            source="import",
            entered_by_id=self.actor.user_id,
            created_at=self.now,
        )
        report_progress(progress, total, total)
        return ids, slot_ids, staged.rows

    def _check_again(self, session: Session) -> RecordCheck:
        if clinic_config(session, self.actor.clinic_id).rules != self.rules:
            raise InvalidInput(
                [
                    "the clinic's scoring rules changed while the file was being checked; "
                    "import it again"
                ]
            )
        return super()._check_again(session)

    def _check(self, session: Session, problems: dict[int, list[str]]) -> RecordCheck:
        return check_administration_records(
            session,
            self.actor,
            self.table,
            self.usable,
            self.keys,
            problems,
            create=self.create_patients,
        )

    def _store(
        self,
        session: Session,
        check: RecordCheck,
        created: dict[str, int],
        progress: ProgressCallback | None,
    ) -> ImportResult:
        actor, now, table = self.actor, self.now, self.table
        staged = self._staged
        if staged is not None and not (
            np.array_equal(staged.skip, check.skip) and staged.on(session)
        ):
            staged = None  # records stored meanwhile, or another connection: write directly
        if staged is not None:
            ids, slot_ids, rows = self._write_staged(
                session, staged, {**check.patients.known, **created}, progress
            )
            patient_of: Callable[[int], int] = slot_ids.__getitem__  # rows hold slots
        else:
            patient_ids = table.patient.map({**check.patients.known, **created})
            rows = self.rows.without(check.skip)
            rows.patient_id = (
                patient_ids.to_numpy(dtype=np.float64)[rows.position].astype(np.int64).tolist()
            )
            rows = rows.in_patient_order()
            report_progress(progress, 0, len(rows.position))
            ids = write_assessments(
                session,
                _written(rows),
                clinic_id=actor.clinic_id,
                source="import",
                entered_by_id=actor.user_id,
                created_at=now,
                progress=progress,
            )
            patient_of = int
        new_alerts = alerts_for_answers(
            clinic_id=actor.clinic_id,
            answers=[
                (ids[i], patient_of(rows.patient_id[i]), from_epoch_us(rows.at[i]), kinds)
                for i, kinds in enumerate(rows.alert_kinds)
                if kinds
            ],
            now=now,
            historical_after=self.historical_after,
        )
        write_alerts(session, new_alerts)
        alerts = len(new_alerts)
        acknowledged = sum(not alert.open for alert in new_alerts)
        imported_patients = sorted(map(patient_of, set(rows.patient_id)))
        audit.record_many(
            session,
            actor=actor,
            action=audit.Action.IMPORT_ASSESSMENTS,
            patient_ids=imported_patients,
        )
        # Once per import, the touched patients together (the vectorised path past a few):
        # last, so the clinic's data version stays locked only until the commit.
        refresh_patients(session, clinic_id=actor.clinic_id, patient_ids=imported_patients)
        return ImportResult(
            kind="assessments",
            rows=len(table.labels),
            imported=len(rows.position),
            skipped=int(check.skip.sum()),
            patients=len(imported_patients),
            patients_created=len(created),
            alerts_created=alerts,
            alerts_acknowledged=acknowledged,
            warnings=self.warnings,
        )


def prepare_administrations(
    session: Session,
    *,
    actor: Actor,
    table: AdministrationTable,
    create_patients: bool = False,
    now: dt.datetime | None = None,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> PreparedImport:
    """Check and score administrations, ready to be written (:class:`PreparedImport`).

    Parameters and refusals as :func:`store_administrations`; ``session`` only reads (a read
    transaction is enough), and nothing is written until :meth:`PreparedImport.write`.
    """
    ensure_role(session, actor, "clinician", "system")
    now = now or utcnow()
    labels = table.labels
    problems = {position: list(messages) for position, messages in table.problems.items()}
    warnings = list(table.warnings)
    rules = clinic_config(session, actor.clinic_id).rules

    instrument = instrument_ids(table.instrument, problems)
    when = table.administered_at
    future = in_future(when, table.date_only, now)
    add_problem(problems, np.flatnonzero(future), "administered_at is in the future")
    usable_patient = check_patient_ids(table.patient, problems)

    groups = [
        score_group(
            table,
            get_instrument(str(instrument_id)),
            np.flatnonzero((instrument == instrument_id).to_numpy()),
            rules=rules,
            problems=problems,
            warnings=warnings,
        )
        for instrument_id in instrument.dropna().unique()
    ]

    usable = (instrument.notna() & when.notna() & usable_patient & ~pd.Series(future)).to_numpy(
        dtype=bool
    )
    positions = np.flatnonzero(usable)
    keys = pd.DataFrame(
        {
            "position": positions,
            "patient": table.patient.iloc[positions].to_numpy(),
            "instrument": instrument.iloc[positions].to_numpy(),
            "at": epoch_us(when.iloc[positions]) if len(positions) else np.zeros(0, np.int64),
        }
    )
    first_of_repeats(keys, labels, problems, "patient, instrument and time")
    check = check_administration_records(
        session,
        actor,
        table,
        usable_patient,
        keys.drop(columns="patient"),
        problems,
        create=create_patients,
    )
    refuse_if(problems, labels, table.unreadable)

    at = epoch_us(when) if len(labels) else np.zeros(0, dtype=np.int64)
    rows = NewAssessments()
    for group in groups:
        rows.extend(new_rows(table, group, at))
    return _PreparedAdministrations(
        actor=actor,
        checked_in=session,
        now=now,
        historical_after=historical_after,
        create_patients=create_patients,
        table=table,
        usable=usable_patient,
        keys=keys.drop(columns="patient"),
        rules=rules,
        rows=rows,
        check=check,
        warnings=warnings,
    )


def store_administrations(
    session: Session,
    *,
    actor: Actor,
    table: AdministrationTable,
    create_patients: bool = False,
    progress: ProgressCallback | None = None,
    now: dt.datetime | None = None,
    historical_after: dt.timedelta = HISTORICAL_ALERT_AGE,
) -> ImportResult:
    """Check administrations against the clinic, score them, and store them all or none.

    Parameters
    ----------
    session : Session
        The caller's session; nothing is committed here.
    actor : Actor
        A clinician of the clinic, or the system actor (command line).
    table : AdministrationTable
        What the file holds (see :func:`data.interchange.csv_assessments.import_assessments_csv`,
        :func:`data.interchange.fhir_read.import_fhir_bundle`).
    create_patients : bool, default False
        Register patients whose id the clinic does not know (named by their id) instead of
        refusing their rows.
    progress : callable, optional
        ``progress(rows_written, rows_to_write)``, called as the rows are written.
    now : datetime, optional
        The time of the import (time-zone aware); now by default.
    historical_after : timedelta, default 14 days
        Safety answers older than this get an alert that is already acknowledged.

    Returns
    -------
    ImportResult

    Raises
    ------
    InvalidInput
        Every problem of every record, by label, in file order; nothing is written.
    AccessDenied
        The actor may not import records.
    """
    prepared = prepare_administrations(
        session,
        actor=actor,
        table=table,
        create_patients=create_patients,
        now=now,
        historical_after=historical_after,
    )
    return prepared.write(session, progress=progress)
