"""Text that a person or a file supplied is shown as typed, never as Markdown, HTML or an image.

A clinic is written with hostile values everywhere a person or a file can put text (names,
ids, usernames, display names, protocol, crisis text, side-effect notes), straight into the
tables as an old import would have left them, and every page of every role is run. No
element that Streamlit renders as Markdown may carry any of the hostile markup unescaped:
no forged green "all clear", no image fetched from elsewhere, no heading, no colour.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Node

from dashboard.navigation import page_files
from dashboard.patient_label import patient_label
from dashboard.plain import literal
from data.access import Actor
from data.checkin import submit_checkin
from data.engine import make_engine, transaction
from data.infusions import InfusionInput, record_infusion
from data.models import Clinic, ClinicSettings, Patient, TreatmentCourse, User
from data.schema import upgrade
from tests.builders import add_user
from tests.test_dashboard.conftest import APP

FORGED = ":green[**reviewed, all clear — no action needed**]"
IMAGE = "![](http://127.0.0.9/track.png)"
HTML = "<img src=x onerror=alert(1)>"
NAME = f"Ann {FORGED} {IMAGE} {HTML}\n# Heading $x^2$ :material/check:"
EXTERNAL_ID = f"MRN-1 {FORGED}"
USERNAME = "dr-:red[boss]"
DISPLAY = f"Dr **Bold** {IMAGE}"
PROTOCOL = f"Protocol {FORGED}"
CRISIS = f"Call 988 {FORGED} {IMAGE}\n## Not a heading"
NOTE = f"felt dizzy {FORGED}"
# What must never reach a Markdown element as it is (none of it is the app's own formatting).
MARKUP = (
    ":green[**reviewed",
    "![](http",
    "<img src",
    "# Heading",
    "## Not a heading",
    "$x^2$",
    ":material/check:",
    ":red[boss]",
    "**Bold**",
    "**x**",
    "![](x)",
)

# Elements whose text Streamlit never parses as Markdown: the value may stand there as is.
PLAIN = {"text", "arrow_data_frame", "dataframe", "text_input", "text_area", "plotly_chart"}


@dataclass(frozen=True)
class HostileWorld:
    url: str
    patient: Actor
    clinician: Actor
    admin: Actor


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, password_hash_module: str) -> HostileWorld:
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with transaction(engine, write=True) as session:
        clinic = Clinic(name="Clinic :red[x]")
        session.add(clinic)
        session.flush()
        session.add(ClinicSettings(clinic_id=clinic.id, crisis_text=CRISIS))

        def user(name: str, role: str, display: str) -> User:
            return add_user(
                session, clinic.id, name, role, password_hash_module, display_name=display
            )

        clinician = user(USERNAME, "clinician", DISPLAY)
        admin = user("admin-**x**", "administrator", DISPLAY)
        patient_user = user("patient-![](x)", "patient", NAME)
        patient = Patient(
            clinic_id=clinic.id,
            external_id=EXTERNAL_ID,
            name=NAME,
            date_of_birth=dt.date(1980, 1, 2),
            assigned_clinician_id=clinician.id,
            user_id=patient_user.id,
        )
        session.add(patient)
        session.flush()
        session.add(
            TreatmentCourse(
                clinic_id=clinic.id,
                patient_id=patient.id,
                indication="depression",
                protocol=PROTOCOL,
                started_on=(now - dt.timedelta(days=20)).date(),
            )
        )
        staff = Actor(clinician.id, clinic.id, "clinician", USERNAME)
        me = Actor(patient_user.id, clinic.id, "patient", patient_user.username, patient.id)
        for days in (20, 18, 16):
            record_infusion(
                session,
                actor=staff,
                patient_id=patient.id,
                infusion=InfusionInput(
                    administered_at=now - dt.timedelta(days=days),
                    route="iv",
                    dose_mg_per_kg=0.5,
                    side_effects=("nausea",),
                    side_effects_note=NOTE,
                ),
            )
        for days, level in ((21, 3), (10, 1)):
            submit_checkin(
                session,
                actor=me,
                patient_id=patient.id,
                instrument="phq9",
                answers={f"phq9_{i}": level for i in range(1, 10)},
                administered_at=now - dt.timedelta(days=days),
            )
        # A self-harm answer: the worklist shows the name beside a safety alert.
        submit_checkin(
            session,
            actor=me,
            patient_id=patient.id,
            instrument="phq9",
            answers={f"phq9_{i}": 1 for i in range(1, 10)},
            administered_at=now - dt.timedelta(hours=2),
        )
        world = HostileWorld(
            url, me, staff, Actor(admin.id, clinic.id, "administrator", admin.username)
        )
    engine.dispose()
    return world


@pytest.fixture
def hostile_app(hostile: HostileWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", hostile.url)
    yield AppTest.from_file(APP, default_timeout=60)


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Block):
        for child in node.children.values():
            yield from _nodes(child)


def _strings(message: Message) -> Iterator[str]:
    """Every text field of a protobuf message, however deeply nested."""
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if isinstance(item, str):
                yield item
            elif isinstance(item, Message):
                yield from _strings(item)


def _rendered_as_markdown(app: AppTest) -> list[tuple[str, str]]:
    """(element type, a text) for every text Streamlit treats as Markdown."""
    found = []
    for root in (app.main, app.sidebar):
        for node in _nodes(root):
            if isinstance(node, Block) or node.type in PLAIN:
                continue
            proto = getattr(node, "proto", None)
            if node.type == "selectbox" and proto is not None:
                # A select box's options are plain text; only its label is Markdown.
                found.append((node.type, str(proto.label)))
            elif isinstance(proto, Message):
                found += [(node.type, text) for text in _strings(proto)]
    return found


def _unescaped(markup: str, text: str) -> bool:
    """Whether ``markup`` stands in ``text`` without a backslash escaping its first character."""
    start = text.find(markup)
    while start >= 0:
        backslashes = len(text[:start]) - len(text[:start].rstrip("\\"))
        if backslashes % 2 == 0:
            return True
        start = text.find(markup, start + 1)
    return False


def _signed_in(app: AppTest, actor: Actor) -> AppTest:
    now = dt.datetime.now(dt.UTC)
    app.session_state["actor"] = actor
    app.session_state["signed_in_at"] = now
    app.session_state["last_seen"] = now
    return app


PAGES = (
    [("patient", page) for page in page_files("patient")]
    + [("clinician", page) for page in page_files("clinician")]
    + [("admin", page) for page in page_files("administrator")]
)


@pytest.mark.parametrize(("who", "page"), PAGES)
def test_no_page_renders_supplied_text_as_markup(
    hostile_app: AppTest, hostile: HostileWorld, who: str, page: str
) -> None:
    actor = {"patient": hostile.patient, "clinician": hostile.clinician, "admin": hostile.admin}
    app = _signed_in(hostile_app, actor[who])
    app.session_state["selected_patient"] = hostile.patient.patient_id
    app.run()
    app.switch_page(str(Path("app_pages") / page)).run()
    assert not app.exception, app.exception
    for kind, text in _rendered_as_markdown(app):
        for markup in MARKUP:
            assert not _unescaped(markup, text), f"{page}: {kind} renders {markup!r}"


def test_the_worklist_shows_the_name_beside_its_alert_as_typed(
    hostile_app: AppTest, hostile: HostileWorld
) -> None:
    app = _signed_in(hostile_app, hostile.clinician)
    app.run()
    alert_lines = [m.value for m in app.markdown if "item 9" in m.value]
    assert alert_lines and literal(NAME) in alert_lines[0]
    # Escaped, the forged colour and bold are shown as the characters that were typed.
    assert "\\:green\\[\\*\\*reviewed" in alert_lines[0]


def test_the_patient_view_names_the_patient_and_care_team_as_typed(
    hostile_app: AppTest, hostile: HostileWorld
) -> None:
    app = _signed_in(hostile_app, hostile.clinician)
    app.session_state["selected_patient"] = hostile.patient.patient_id
    app.run()
    app.switch_page("app_pages/clinician/patient.py").run()
    assert not app.exception
    assert app.header[0].value == patient_label(
        NAME, EXTERNAL_ID, dt.date(1980, 1, 2), today=dt.date.today()
    )
    header = next(m.value for m in app.markdown if str(m.value).startswith("Phone: "))
    assert literal(DISPLAY) in header and literal(PROTOCOL) in header


@pytest.mark.parametrize(
    "value",
    [
        NAME,
        EXTERNAL_ID,
        USERNAME,
        DISPLAY,
        PROTOCOL,
        CRISIS,
        NOTE,
        "a\x00b\r\nc\u2028d\x1b[31m",
        "see https://example.org, WWW.example.org or help@example.org",
    ],
)
def test_literal_leaves_no_markup_and_no_line_breaks(value: str) -> None:
    shown = literal(value)
    for markup in MARKUP:
        assert not _unescaped(markup, shown)
    assert not any(c in shown for c in "\x00\r\n\u2028\x1b")
    # No web address or email is left for Markdown to turn into a link.
    assert not re.search(r"\\:\\/\\/|www\\\.|\\@(?!\u2060)", shown, re.IGNORECASE)
    # Every character typed is still there to read (escapes aside; breaks become spaces).
    assert shown.replace("\\", "").replace("\u2060", "") == " ".join(
        "".join(" " if not c.isprintable() else c for c in value).split()
    )


def test_an_alert_kind_the_registry_does_not_know_cannot_read_as_markup() -> None:
    from dashboard.plain import alert_label

    assert alert_label("phq9_item9_positive").startswith("PHQ-9 item 9")
    assert alert_label("**all_clear**](http://x)") == "all clear http x"
