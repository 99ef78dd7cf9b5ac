"""The administrator's Message delivery page: the stuck banner, the counts, the log, the
messages sent and completeness before and with reminders (issue 14)."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

from dashboard.charts.reminders import reminder_completeness_figure
from data.engine import make_engine, transaction
from data.models import utcnow
from data.notify.delivery_log import hide_links
from data.notify.models import OutboxAttempt, OutboxMessage
from data.notify.queue import NewMessage, queue_message
from data.notify.settings_admin import set_message_settings
from tests.test_dashboard.conftest import AppWorld, signed_in

PAGE = "app_pages/admin/delivery.py"
TOKEN = "k3Jd9sLq0WmZx7Vb2NcR5tY"
STUCK = "The mail server cannot be reached; messages are kept and will be sent when it can."


def _queue(url: str, clinic_id: int, key: str, *, status: str, minutes_ago: int) -> None:
    engine = make_engine(url)
    with transaction(engine, write=True) as session:
        message_id = queue_message(
            session,
            NewMessage(
                clinic_id=clinic_id,
                kind="checkin_reminder",
                channel="email",
                recipient="patient.person@example.org",
                subject="Your check-in with Clinic A is due",
                body=f"Check in here: https://outcomes.example.org/l/{TOKEN}",
                dedupe_key=key,
                not_before=utcnow() - dt.timedelta(minutes=minutes_ago),
            ),
        )
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        message.status = status
        if status == "sent":
            message.sent_at = utcnow()
            message.attempts = 1
            session.add(OutboxAttempt(clinic_id=clinic_id, message_id=message_id, outcome="sent"))
    engine.dispose()


def _open(app: AppTest, app_world: AppWorld) -> AppTest:
    signed_in(app, app_world.admin).run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def test_a_quiet_outbox_says_messages_are_getting_out(app: AppTest, app_world: AppWorld) -> None:
    _open(app, app_world)
    assert not app.warning
    assert any("getting out" in s.value for s in app.success)
    assert any("Reminders are off" in i.value for i in app.info)
    assert any("No message has been sent yet" in i.value for i in app.info)


def test_stuck_messages_raise_the_banner_and_sent_ones_are_readable(
    app: AppTest, app_world: AppWorld
) -> None:
    clinic = app_world.admin.clinic_id
    _queue(app_world.url, clinic, "waiting", status="queued", minutes_ago=40)
    _queue(app_world.url, clinic, "delivered", status="sent", minutes_ago=60)
    _open(app, app_world)
    assert any(STUCK in w.value for w in app.warning)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Sent"] == "1" and metrics["Queued"] == "1"
    # Both of clinic A's patients have neither e-mail nor phone (clinic B's is not counted).
    assert metrics["Patients who cannot be reached (no e-mail, no phone)"] == "2"
    log = app.dataframe[0].value
    assert set(log["recipient"]) == {"p***@example.org"}
    assert set(log["status"]) == {"queued", "sent"}
    # The message sent, as its recipient read it, with its one-time link hidden.
    texts = [t.value for t in app.text]
    assert "Subject: Your check-in with Clinic A is due" in texts
    assert hide_links(f"Check in here: https://outcomes.example.org/l/{TOKEN}") in texts
    assert not any(TOKEN in t for t in texts)
    assert not any("patient.person" in str(v) for v in log.to_numpy().ravel())
    # Filtered to what failed: nothing.
    app.selectbox(key="log_status").select("failed").run()
    assert app.dataframe[0].value.empty


def test_completeness_before_and_with_reminders_is_shown(app: AppTest, app_world: AppWorld) -> None:
    engine = make_engine(app_world.url)
    with transaction(engine, write=True) as session:
        set_message_settings(
            session,
            actor=app_world.admin,
            reminders_on=True,
            now=utcnow() - dt.timedelta(days=21),
        )
    engine.dispose()
    _open(app, app_world)
    labels = {m.label for m in app.metric}
    assert "Before reminders (8 weeks)" in labels
    assert "With reminders (weeks ended so far)" in labels
    table = app.dataframe[-1].value
    assert list(table["period"]).count("after") == 3
    assert list(table["period"]).count("before") == 8


def test_the_chart_marks_the_switch_and_each_periods_share() -> None:
    import pandas as pd

    since = dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)
    ends = [dt.date(2026, 2, 22), dt.date(2026, 3, 1), dt.date(2026, 3, 8)]
    weekly = pd.DataFrame(
        {
            "week_start": [end - dt.timedelta(days=6) for end in ends],
            "week_end": ends,
            "expected": [4, 4, 5],
            "received": [1, 2, 4],
            "missing": [3, 2, 1],
            "share": [0.25, 0.5, 0.8],
            "period": ["before", "before", "after"],
        }
    )
    figure = reminder_completeness_figure(weekly, since=since)
    bars = [t for t in figure.data if isinstance(t, go.Bar)]
    assert [b.name for b in bars] == ["before reminders", "with reminders"]
    assert list(bars[0].text) == ["1 of 4", "2 of 4"]
    lines = [t for t in figure.data if isinstance(t, go.Scatter)]
    assert [t.name for t in lines] == [
        "before reminders: 38% overall",
        "with reminders: 80% overall",
    ]
    assert lines[0].y == (3 / 8, 3 / 8)
    (switch,) = figure.layout.shapes
    assert pd.Timestamp(switch.x0) == pd.Timestamp("2026-03-04 12:00")
    assert "reminders on 2 Mar 2026" in figure.layout.annotations[0].text
