"""C-SSRS screener (recent): no total, a triage risk level (Posner et al. 2011; spec §2.5)."""

from __future__ import annotations

from outcomes.instruments.model import Condition, Instrument, Item, Requirement, RiskLevel

__all__ = ["CSSRS_SCREEN"]

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
