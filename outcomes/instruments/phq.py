"""PHQ-9 and GAD-7: the Pfizer family, sharing answer codes, answer labels and licence.

Both are reproduced with their item text, which the copyright holder permits ("No permission
required to reproduce, translate, display or distribute", spec §6). Codes are LOINC (spec §5).
"""

from __future__ import annotations

from outcomes.instruments.model import (
    Instrument,
    Item,
    SafetyItem,
    one_item_domains,
    severity_bands,
)

__all__ = ["GAD7", "PHQ9"]

# PHQ/GAD answer codes, 0-3 in order (spec §5).
_PHQ_GAD_ANSWER_LOINC = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")
_PHQ_GAD_ANSWER_LABELS = (
    "Not at all",
    "Several days",
    "More than half the days",
    "Nearly every day",
)
_PFIZER_LICENCE = (
    "PHQ/GAD © Pfizer Inc.: no permission required to reproduce, translate, display or "
    "distribute (spec §6)."
)

PHQ9 = Instrument(
    id="phq9",
    name="PHQ-9",
    rater="patient",
    topic="Mood",
    stem=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    items=(
        Item(
            "phq9_1",
            "anhedonia",
            loinc="44250-9",
            text="Little interest or pleasure in doing things",
        ),
        Item(
            "phq9_2", "depressed mood", loinc="44255-8", text="Feeling down, depressed, or hopeless"
        ),
        Item(
            "phq9_3",
            "sleep",
            loinc="44259-0",
            text="Trouble falling or staying asleep, or sleeping too much",
        ),
        Item("phq9_4", "energy", loinc="44254-1", text="Feeling tired or having little energy"),
        Item("phq9_5", "appetite", loinc="44251-7", text="Poor appetite or overeating"),
        Item(
            "phq9_6",
            "self-worth/guilt",
            loinc="44258-2",
            text=(
                "Feeling bad about yourself — or that you are a failure or have let yourself "
                "or your family down"
            ),
        ),
        Item(
            "phq9_7",
            "concentration",
            loinc="44252-5",
            text=(
                "Trouble concentrating on things, such as reading the newspaper or watching "
                "television"
            ),
        ),
        Item(
            "phq9_8",
            "psychomotor",
            loinc="44253-3",
            text=(
                "Moving or speaking so slowly that other people could have noticed? Or the "
                "opposite — being so fidgety or restless that you have been moving around a lot "
                "more than usual"
            ),
        ),
        Item(
            "phq9_9",
            "thoughts of death or self-harm",
            loinc="44260-8",
            text="Thoughts that you would be better off dead or of hurting yourself in some way",
        ),
        Item(
            "phq9_10",
            "functional difficulty",
            scored=False,
            loinc="69722-7",
            answer_labels=(
                "Not difficult at all",
                "Somewhat difficult",
                "Very difficult",
                "Extremely difficult",
            ),
            text=(
                "If you checked off any problems, how difficult have these problems made it for "
                "you to do your work, take care of things at home, or get along with other people?"
            ),
        ),
    ),
    min_value=0,
    max_value=3,
    domains=one_item_domains(tuple(f"phq9_{i}" for i in range(1, 10))),
    bands=severity_bands(
        ("none_minimal", 0, 4),
        ("mild", 5, 9),
        ("moderate", 10, 14),
        ("moderately_severe", 15, 19),
        ("severe", 20, 27),
    ),
    safety_items=(SafetyItem("phq9_9", "phq9_item9_positive"),),
    max_missing=2,
    remission_max_total=4,
    relapse_floor=10,
    reliable_change_points=6,
    mcid_points=5,
    loinc_panel="44249-1",
    loinc_total="44261-6",
    answer_loinc=_PHQ_GAD_ANSWER_LOINC,
    answer_labels=_PHQ_GAD_ANSWER_LABELS,
    citation=(
        "Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity "
        "measure. J Gen Intern Med. 2001;16(9):606-613. doi:10.1046/j.1525-1497.2001.016009606.x. "
        "Proration of up to 2 missing items: Arrieta J et al. J Clin Psychol. 2017;73(9):1076-1090."
    ),
    licence=_PFIZER_LICENCE,
)

GAD7 = Instrument(
    id="gad7",
    name="GAD-7",
    rater="patient",
    topic="Anxiety",
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        Item("gad7_1", "nervous", loinc="69725-0", text="Feeling nervous, anxious, or on edge"),
        Item(
            "gad7_2",
            "uncontrollable worry",
            loinc="68509-9",
            text="Not being able to stop or control worrying",
        ),
        Item(
            "gad7_3",
            "excessive worry",
            loinc="69733-4",
            text="Worrying too much about different things",
        ),
        Item("gad7_4", "trouble relaxing", loinc="69734-2", text="Trouble relaxing"),
        Item(
            "gad7_5",
            "restless",
            loinc="69735-9",
            text="Being so restless that it is hard to sit still",
        ),
        Item("gad7_6", "irritable", loinc="69689-8", text="Becoming easily annoyed or irritable"),
        Item(
            "gad7_7",
            "afraid",
            loinc="69736-7",
            text="Feeling afraid, as if something awful might happen",
        ),
    ),
    min_value=0,
    max_value=3,
    domains=one_item_domains(tuple(f"gad7_{i}" for i in range(1, 8))),
    bands=severity_bands(
        ("minimal", 0, 4), ("mild", 5, 9), ("moderate", 10, 14), ("severe", 15, 21)
    ),
    max_missing=1,
    remission_max_total=4,
    relapse_floor=10,
    reliable_change_points=4,
    loinc_panel="69737-5",
    loinc_total="70274-6",
    answer_loinc=_PHQ_GAD_ANSWER_LOINC,
    answer_labels=_PHQ_GAD_ANSWER_LABELS,
    citation=(
        "Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing generalized "
        "anxiety disorder: the GAD-7. Arch Intern Med. 2006;166(10):1092-1097. "
        "doi:10.1001/archinte.166.10.1092."
    ),
    licence=_PFIZER_LICENCE,
)
