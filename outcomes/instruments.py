"""The questionnaires a ketamine clinic uses, as data.

Each instrument is one frozen :class:`Instrument` entry in :data:`INSTRUMENTS`. Scoring
(:mod:`outcomes.scoring`) reads these entries and has no branch for any particular
instrument: a new questionnaire is a new entry here, not new code.

How items combine
-----------------
Items are grouped into *domains*. A domain's score is the maximum of its answered items,
and the total is the sum of the domain scores. For a plain sum scale every item is its own
domain; QIDS-SR16 groups sleep, appetite/weight and psychomotor items (Rush et al. 2003).
A domain is present when at least one of its items is answered; ``max_missing`` domains may be
absent, and are then prorated (scoring-spec §1.4).

The C-SSRS screener has no total: its ``severity`` is a triage risk level, chosen by the first
:class:`RiskLevel` whose conditions hold (scoring-spec §2.5).

Every rule here cites its source in ``shared/clinical/scoring-spec.md`` (section numbers given
as ``spec §``). No copyrighted item text is stored: items carry short names only, except the
PHQ-9 and GAD-7, whose copyright holder permits reproduction ("No permission required to
reproduce, translate, display or distribute", spec §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from outcomes.errors import UnknownInstrumentError

Rater = Literal["patient", "clinician"]


@dataclass(frozen=True)
class Item:
    """One question of an instrument.

    ``scored=False`` marks an item that is stored but never enters total, severity,
    validity or flags (PHQ-9 item 10, spec §2.1).
    """

    key: str
    short_name: str
    scored: bool = True
    loinc: str | None = None
    text: str | None = None
    # Answer labels of this item when they differ from the instrument's (PHQ-9 item 10).
    answer_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    """Items whose answers combine by maximum into one domain score."""

    name: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Band:
    """A severity band: totals from ``lower`` to ``upper`` inclusive get ``label``."""

    label: str
    lower: int
    upper: int


@dataclass(frozen=True)
class SafetyItem:
    """An item whose answer at or above a threshold raises ``flag``, whatever the total."""

    item: str
    flag: str
    threshold: int = 1


@dataclass(frozen=True)
class TotalFlag:
    """A flag raised when the (valid) total is at or above ``cutoff``."""

    flag: str
    cutoff: int


@dataclass(frozen=True)
class Condition:
    """``item`` answered with ``equals``."""

    item: str
    equals: int


@dataclass(frozen=True)
class RiskLevel:
    """A triage level: holds when all conditions of any one clause hold.

    A level with no clauses always holds; it is the fallback and must come last.
    """

    level: str
    flag: str | None
    any_of: tuple[tuple[Condition, ...], ...] = ()


@dataclass(frozen=True)
class Requirement:
    """``items`` must be answered (when ``when`` holds, or always if it is ``None``)."""

    items: tuple[str, ...]
    when: Condition | None = None


@dataclass(frozen=True)
class Instrument:
    """One questionnaire: its items and every rule needed to score it.

    The thresholds here are the defaults of the spec; a clinic overrides them through
    :class:`outcomes.rules.Rules`, never by editing this entry.
    """

    id: str
    name: str
    rater: Rater
    items: tuple[Item, ...]
    min_value: int
    max_value: int
    domains: tuple[Domain, ...]
    citation: str
    licence: str
    bands: tuple[Band, ...] = ()
    safety_items: tuple[SafetyItem, ...] = ()
    total_flags: tuple[TotalFlag, ...] = ()
    risk_levels: tuple[RiskLevel, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    assume_when_missing: Mapping[str, int] = field(default_factory=dict)
    max_missing: int = 0
    remission_max_total: int | None = None
    relapse_floor: int | None = None
    reliable_change_points: int | None = None
    mcid_points: int | None = None
    loinc_panel: str | None = None
    loinc_total: str | None = None
    answer_loinc: tuple[str, ...] = ()
    answer_labels: tuple[str, ...] = ()
    stem: str | None = None
    # What the instrument measures, in a patient's words ("Mood"); None where no plain word fits.
    topic: str | None = None

    @property
    def has_total(self) -> bool:
        """Whether the instrument has a sum score (the C-SSRS screener does not)."""
        return bool(self.domains)

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)

    @property
    def scored_item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items if item.scored)

    @property
    def max_total(self) -> int | None:
        """Highest possible total, or ``None`` for an instrument without a total."""
        if not self.has_total:
            return None
        return len(self.domains) * self.max_value

    @property
    def flag_names(self) -> tuple[str, ...]:
        """Every flag the instrument can raise, sorted (``prorated`` only if it may prorate)."""
        names = {s.flag for s in self.safety_items} | {t.flag for t in self.total_flags}
        names |= {r.flag for r in self.risk_levels if r.flag is not None}
        return tuple(sorted(names))

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(f"{self.id} has no item {key!r}; its items are {', '.join(self.item_keys)}")


def _plain_domains(keys: tuple[str, ...]) -> tuple[Domain, ...]:
    return tuple(Domain(name=key, items=(key,)) for key in keys)


def _bands(*edges: tuple[str, int, int]) -> tuple[Band, ...]:
    return tuple(Band(label=label, lower=lower, upper=upper) for label, lower, upper in edges)


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
    domains=_plain_domains(tuple(f"phq9_{i}" for i in range(1, 10))),
    bands=_bands(
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
    domains=_plain_domains(tuple(f"gad7_{i}" for i in range(1, 8))),
    bands=_bands(("minimal", 0, 4), ("mild", 5, 9), ("moderate", 10, 14), ("severe", 15, 21)),
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

_QIDS_NAMES = (
    "sleep-onset insomnia",
    "mid-nocturnal insomnia",
    "early-morning insomnia",
    "hypersomnia",
    "sad mood",
    "decreased appetite",
    "increased appetite",
    "weight decrease",
    "weight increase",
    "concentration/decision-making",
    "view of self",
    "thoughts of death or suicide",
    "general interest",
    "energy",
    "feeling slowed down",
    "feeling restless",
)


def _qids(*numbers: int) -> tuple[str, ...]:
    return tuple(f"qids_{n}" for n in numbers)


QIDS_SR16 = Instrument(
    id="qids_sr16",
    name="QIDS-SR16",
    rater="patient",
    topic="Mood",
    items=tuple(Item(f"qids_{i}", name) for i, name in enumerate(_QIDS_NAMES, start=1)),
    min_value=0,
    max_value=3,
    domains=(
        Domain("sleep", _qids(1, 2, 3, 4)),
        Domain("mood", _qids(5)),
        Domain("appetite/weight", _qids(6, 7, 8, 9)),
        Domain("concentration", _qids(10)),
        Domain("self-view", _qids(11)),
        Domain("suicidal ideation", _qids(12)),
        Domain("interest", _qids(13)),
        Domain("energy", _qids(14)),
        Domain("psychomotor", _qids(15, 16)),
    ),
    bands=_bands(
        ("none", 0, 5),
        ("mild", 6, 10),
        ("moderate", 11, 15),
        ("severe", 16, 20),
        ("very_severe", 21, 27),
    ),
    safety_items=(SafetyItem("qids_12", "qids_item12_positive"),),
    max_missing=0,
    remission_max_total=5,
    relapse_floor=11,
    citation=(
        "Rush AJ, Trivedi MH, Ibrahim HM, et al. The 16-item Quick Inventory of Depressive "
        "Symptomatology (QIDS), clinician rating (QIDS-C), and self-report (QIDS-SR). "
        "Biol Psychiatry. 2003;54(5):573-583. doi:10.1016/S0006-3223(02)01866-8. Remission <=5: "
        "Trivedi MH et al. Am J Psychiatry. 2006;163:28-40 (STAR*D)."
    ),
    licence=(
        "© UT Southwestern: paper versions free to clinicians and researchers; the IVR version is "
        "licensed to Healthcare Technology Systems. Confirm terms before embedding the item text "
        "(spec §6): only short names are stored here."
    ),
)

MADRS = Instrument(
    id="madrs",
    name="MADRS",
    rater="clinician",
    stem="Rate each item 0-6: anchors are defined at 0, 2, 4 and 6.",
    items=tuple(
        Item(f"madrs_{i}", name)
        for i, name in enumerate(
            (
                "apparent sadness",
                "reported sadness",
                "inner tension",
                "reduced sleep",
                "reduced appetite",
                "concentration difficulties",
                "lassitude",
                "inability to feel",
                "pessimistic thoughts",
                "suicidal thoughts",
            ),
            start=1,
        )
    ),
    min_value=0,
    max_value=6,
    domains=_plain_domains(tuple(f"madrs_{i}" for i in range(1, 11))),
    bands=_bands(("normal", 0, 6), ("mild", 7, 19), ("moderate", 20, 34), ("severe", 35, 60)),
    safety_items=(SafetyItem("madrs_10", "madrs_item10_positive"),),
    max_missing=0,
    remission_max_total=12,
    relapse_floor=22,
    citation=(
        "Montgomery SA, Åsberg M. A new depression scale designed to be sensitive to change. "
        "Br J Psychiatry. 1979;134:382-389. doi:10.1192/bjp.134.4.382. Bands: Snaith RP et al. "
        "Br J Psychiatry. 1986;148:599-601. Relapse floor 22: Daly EJ et al. JAMA Psychiatry. "
        "2019;76(9):893-903 (SUSTAIN-1)."
    ),
    licence="Published 1979 in the BJP; copyright for electronic use not verified (spec §6).",
)

CSSRS_SCREEN = Instrument(
    id="cssrs_screen",
    name="C-SSRS Screener (recent)",
    rater="clinician",
    items=(
        Item("cssrs_1", "wish to be dead (past month)"),
        Item("cssrs_2", "non-specific active suicidal thoughts (past month)"),
        Item("cssrs_3", "ideation with method, no plan or intent"),
        Item("cssrs_4", "ideation with some intent, no specific plan"),
        Item("cssrs_5", "ideation with specific plan and intent"),
        Item("cssrs_6", "suicidal behaviour (lifetime)"),
        Item("cssrs_6_recent", "suicidal behaviour within the past 3 months"),
    ),
    min_value=0,
    max_value=1,
    domains=(),
    # Ordered most serious first; the first level that holds is the risk level (spec §2.5).
    risk_levels=(
        RiskLevel(
            "high",
            "cssrs_high_risk",
            any_of=(
                (Condition("cssrs_4", 1),),
                (Condition("cssrs_5", 1),),
                (Condition("cssrs_6", 1), Condition("cssrs_6_recent", 1)),
            ),
        ),
        RiskLevel(
            "moderate",
            "cssrs_moderate_risk",
            any_of=(
                (Condition("cssrs_3", 1),),
                (Condition("cssrs_6", 1), Condition("cssrs_6_recent", 0)),
            ),
        ),
        RiskLevel(
            "low", "cssrs_low_risk", any_of=((Condition("cssrs_1", 1),), (Condition("cssrs_2", 1),))
        ),
        RiskLevel("none", None),
    ),
    requirements=(
        Requirement(("cssrs_1", "cssrs_2", "cssrs_6")),
        Requirement(("cssrs_3", "cssrs_4", "cssrs_5"), when=Condition("cssrs_2", 1)),
    ),
    # [D] spec §2.5: behaviour of unknown recency is treated as recent (-> high risk).
    assume_when_missing={"cssrs_6_recent": 1},
    citation=(
        "Posner K et al. The Columbia-Suicide Severity Rating Scale. Am J Psychiatry. "
        "2011;168(12):1266-1277. doi:10.1176/appi.ajp.2011.10111704. Screener triage: Columbia "
        "Lighthouse Project, 'C-SSRS Screener with triage points' "
        "(https://cssrs.columbia.edu/the-columbia-scale-c-ssrs/triage-c-ssrs/)."
    ),
    licence=(
        "No cost or licence required for health-care providers to put the Columbia Protocol in "
        "their EHR; commercial or research-vendor use may need a licence (spec §6)."
    ),
)

_PCL5_NAMES = (
    "intrusive memories",
    "disturbing dreams",
    "flashbacks",
    "upset at reminders",
    "physical reactions to reminders",
    "avoiding memories",
    "avoiding external reminders",
    "trouble remembering",
    "negative beliefs",
    "blame",
    "negative feelings",
    "loss of interest",
    "feeling distant",
    "trouble with positive feelings",
    "irritability or anger",
    "risk taking",
    "hypervigilance",
    "easily startled",
    "difficulty concentrating",
    "trouble sleeping",
)

PCL5 = Instrument(
    id="pcl5",
    name="PCL-5",
    rater="patient",
    items=tuple(Item(f"pcl5_{i}", name) for i, name in enumerate(_PCL5_NAMES, start=1)),
    min_value=0,
    max_value=4,
    domains=_plain_domains(tuple(f"pcl5_{i}" for i in range(1, 21))),
    # No empirically derived severity ranges exist (spec §2.6): severity is always null.
    total_flags=(TotalFlag("pcl5_probable_ptsd", 33),),
    max_missing=0,
    citation=(
        "Weathers FW, Litz BT, Keane TM, et al. The PTSD Checklist for DSM-5 (PCL-5). National "
        "Center for PTSD, 2013. Provisional cut-point 31-33: Bovin MJ et al. Psychol Assess. "
        "2016;28(11):1379-1391. doi:10.1037/pas0000254."
    ),
    licence="Public domain (VA National Center for PTSD) (spec §6).",
)

INSTRUMENTS: tuple[Instrument, ...] = (PHQ9, GAD7, QIDS_SR16, MADRS, CSSRS_SCREEN, PCL5)
"""The registry: every instrument this library scores, in display order."""

_BY_ID: dict[str, Instrument] = {instrument.id: instrument for instrument in INSTRUMENTS}


def instrument_ids() -> tuple[str, ...]:
    """The ids of every known instrument, in registry order."""
    return tuple(_BY_ID)


def course_instruments() -> tuple[Instrument, ...]:
    """Instruments a course is followed with, in registry order: those with a total and a
    remission threshold, so that response, remission and relapse are defined (spec §3).

    Read at call time, so an entry added to the registry appears in every picker.
    """
    return tuple(i for i in INSTRUMENTS if i.has_total and i.remission_max_total is not None)


def clinician_rated_instruments() -> tuple[Instrument, ...]:
    """Course instruments a clinician rates (MADRS), in registry order."""
    return tuple(i for i in course_instruments() if i.rater == "clinician")


def get_instrument(instrument: str | Instrument) -> Instrument:
    """Look an instrument up by id (an :class:`Instrument` is returned as it is).

    Raises
    ------
    UnknownInstrumentError
        For an id that is not in :data:`INSTRUMENTS`; the message lists the known ids.
    """
    if isinstance(instrument, Instrument):
        return instrument
    try:
        return _BY_ID[instrument]
    except (KeyError, TypeError):
        raise UnknownInstrumentError(instrument, instrument_ids()) from None
