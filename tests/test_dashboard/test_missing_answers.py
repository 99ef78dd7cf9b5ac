"""Unanswered questions on the check-in (issue 12, "Missing answers"): each is marked right
above itself in words, the first is brought into view, and the summary above the button names
them all. Before, one line below the button said "please answer question(s) 3"."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Node

from data.engine import make_engine, transaction
from data.models import Assessment
from outcomes.instruments import get_instrument
from tests.test_dashboard.conftest import AppWorld, new_patient, signed_in


def _in_order(node: Node) -> Iterator[Node]:
    children = getattr(node, "children", None)
    if children:
        for index in sorted(children):
            yield from _in_order(children[index])
    else:
        yield node


def _text(node: Node) -> str:
    return str(getattr(node, "value", "")).replace("\\", "")


def _assessments(url: str, patient_id: int) -> int:
    engine = make_engine(url)
    with transaction(engine) as session:
        count = session.scalar(select(func.count()).where(Assessment.patient_id == patient_id))
    engine.dispose()
    return int(count or 0)


def test_each_unanswered_question_is_marked_above_itself_and_the_first_brought_into_view(
    app: AppTest, app_world: AppWorld
) -> None:
    patient = new_patient(app_world)
    patient_id = patient.patient_id or 0
    before = _assessments(app_world.url, patient_id)
    signed_in(app, patient).run()
    phq9 = get_instrument("phq9")
    # Everything answered but PHQ-9 questions 3 and 9 (sleep; thoughts of self-harm).
    blank = {"phq9_3", "phq9_9"}
    for radio in app.radio:
        if not any(str(radio.key).endswith(f":{key}") for key in blank):
            radio.set_value(0)
    next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert not app.exception, app.exception
    assert _assessments(app_world.url, patient_id) == before

    nodes = list(_in_order(app.main))
    radios = [i for i, node in enumerate(nodes) if node.type == "radio"]
    for index in radios:
        key = str(nodes[index].key).rsplit(":", 1)[-1]
        above = nodes[index - 1]
        if key in blank:
            # The message right above the question names it in words.
            question = phq9.item(key).text
            assert above.type == "warning" and _text(above) == f"Please answer: {question}"
        else:
            assert above.type != "warning", key
    # The first one is in a container the page scrolls to, with the script that does so.
    first = nodes[radios[2] - 1]
    assert "Trouble falling or staying asleep" in _text(first)
    scripts = [n for n in nodes if n.type == "html" and "scrollIntoView" in n.proto.body]
    assert len(scripts) == 1 and ".st-key-first_unanswered" in scripts[0].proto.body
    assert scripts[0].proto.unsafe_allow_javascript
    # The summary stands right above the button and names every question in words.
    button = next(i for i, n in enumerate(nodes) if n.type == "button")
    summary = _text(nodes[button - 1])
    assert nodes[button - 1].type == "warning"
    assert "PHQ-9, question 3: Trouble falling or staying asleep, or sleeping too much" in summary
    assert "PHQ-9, question 9: Thoughts that you would be better off dead" in summary
    assert "question(s)" not in summary and "GAD-7" not in summary
    # Nothing after the button: no message below it, off-screen on a phone.
    assert not any(n.type in ("warning", "error") for n in nodes[button + 1 :])

    # Answering them and submitting again saves the check-in; no warning remains.
    for radio in app.radio:
        if any(str(radio.key).endswith(f":{key}") for key in blank):
            radio.set_value(0)
    next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert not app.exception, app.exception
    assert not app.warning
    assert "Thank you" in app.success[0].value
    assert _assessments(app_world.url, patient_id) == before + 2


def test_marks_are_gone_after_a_visit_to_another_page(app: AppTest, app_world: AppWorld) -> None:
    """Streamlit forgets a form's answers on another page: back on the check-in, a fresh form
    has no "Please answer" marks left over from the last submit."""
    signed_in(app, new_patient(app_world)).run()
    next(b for b in app.button if b.label == "Submit check-in").click().run()
    assert any(w.value.startswith("Please answer") for w in app.warning)
    app.switch_page("app_pages/patient/progress.py").run()
    app.switch_page("app_pages/patient/checkin.py").run()
    assert not app.exception, app.exception
    assert not app.warning
