"""A rule in the words a reader sees: its due date, recurrence, window,
grace, lead time, phases, scope and how it closes. Nothing here restates a
rule; each sentence is worked out from the rule's own fields."""

from __future__ import annotations

import re

from pathways.engine.ruleset import OPEN_PHASES, Rule

# How a due date is counted, for each anchor a rule declares: (the words
# after "N months after ...", the sentence when there is no offset). An
# anchor missing here is shown as written in the rule, which is plain text.
ANCHOR_WORDS: dict[str, tuple[str, str]] = {
    "identified": (
        "the fracture was identified",
        "On the day the fracture was identified",
    ),
    "identified (not before the trigger)": (
        "the fracture was identified (never before the finding that raises it)",
        "On the day the fracture was identified (never before the finding that raises it)",
    ),
    "onset": ("symptoms began", "On the day symptoms began"),
    "trigger": (
        "the finding that raises it was recorded",
        "At once, when the finding that raises it is recorded",
    ),
    "calcitonin start": ("calcitonin was started", "On the day calcitonin was started"),
    "opioid record": ("the opioid was recorded", "On the day the opioid was recorded"),
    "the pain review": ("the pain review", "At the pain review that shows it"),
    "the record": (
        "the new finding was recorded",
        "On the day the new finding is recorded",
    ),
    "last DXA (first: treatment start)": (
        "the last DXA (the first one: after treatment started)",
        "On the day of the last DXA",
    ),
    "the second DXA": ("the second DXA", "At once, after the second DXA that shows it"),
    "the DXA": ("the DXA", "At once, after the DXA that shows it"),
    "bisphosphonate course start": (
        "the bisphosphonate course started",
        "On the day the bisphosphonate course started",
    ),
    "last dose": ("the last dose", "On the day of the last dose"),
}

GROUP_WORDS = {
    "triage": "Triage, when the fracture is recorded",
    "branch": "Side branch: surgery or a suspected malignancy",
    "acute": "Acute care",
    "conservative": "Conservative care",
    "bone_health": "Bone health, long term",
}

PHASE_WORDS = {
    "triage": "triage",
    "acute": "acute (days 0-28)",
    "conservative": "conservative (to 3 months)",
    "augmentation_review": "augmentation review",
    "bone_health": "bone health",
    "surgical": "surgical branch",
    "pathologic_workup": "pathologic work-up",
}

PRIORITY_WORDS = {"routine": "Routine", "high": "High", "urgent": "Urgent"}

EPISODE_SCOPE = "Each fracture: one task per episode"
PROGRAMME_SCOPE = (
    "The patient's bone-health programme: one series per patient, however many fractures"
)
# Version 1 has no programme: its patient-level tasks are kept on the
# patient's newest open episode (pathways/engine/ruleset.py, ``patient_level``).
# Every later version keeps them in the patient's programme (spec V2.1).
NO_PROGRAMME = {"v1": "The patient: one series, kept on the patient's newest open episode"}

_WINDOW_OFFSET = re.compile(r"(?P<anchor>.+?)\s*\+\s*(?P<n>\d+)\s*(?P<unit>days?|months?)")


def plain(text: str) -> str:
    """Rule text as a reader sees it: no identifiers, no ASCII comparison signs."""
    text = text.replace("`", "").replace(">=", "\u2265").replace("<=", "\u2264")
    return re.sub(r"(?<=[a-z])_(?=[a-z])", " ", text)


def sentence(text: str) -> str:
    text = plain(text).strip()
    return text[:1].upper() + text[1:]


def duration(months: int = 0, days: int = 0) -> str:
    parts = []
    if months:
        if months % 12 == 0 and months >= 24:
            parts.append(f"{months // 12} years")
        else:
            parts.append(f"{months} month{'s' if months != 1 else ''}")
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    return " and ".join(parts)


def anchor_words(anchor: str) -> tuple[str, str]:
    words = ANCHOR_WORDS.get(anchor)
    if words is not None:
        return words
    shown = plain(anchor)
    return shown, f"On the day of {shown}"


def due_text(rule: Rule) -> str:
    after, at = anchor_words(rule.anchor)
    offset = duration(rule.offset_months, rule.offset_days)
    return f"{offset[:1].upper()}{offset[1:]} after {after}" if offset else at


def recurrence_text(rule: Rule) -> str:
    if rule.recurs_months:
        return f"Every {duration(rule.recurs_months)}"
    return "Does not repeat on a schedule"


def window_text(rule: Rule) -> str:
    if rule.window:
        match = _WINDOW_OFFSET.fullmatch(rule.window.strip())
        if match is not None:
            unit = match["unit"].rstrip("s")
            n = int(match["n"])
            span = duration(months=n) if unit == "month" else duration(days=n)
            until = f"{span} after {anchor_words(match['anchor'])[0]}"
        else:
            until = plain(rule.window).removeprefix("until ")
        return f"Can be done until {until}; after that an open task is recorded as missed"
    return "No closing date set by the rule"


def grace_text(rule: Rule) -> str:
    days = rule.effective_grace
    if days == 0:
        return "Overdue the day after it is due"
    return f"Overdue {days} day{'s' if days != 1 else ''} after it is due"


def lead_text(rule: Rule) -> str:
    days = rule.effective_lead
    if days == 0:
        return "Appears on the worklist on the day it is due"
    return f"Appears on the worklist {days} day{'s' if days != 1 else ''} before it is due"


def scope(version: str, rule: Rule) -> str:
    """Where the rule's tasks live, as the task API says it: ``programme`` or ``episode``."""
    return "programme" if rule.patient_level and version not in NO_PROGRAMME else "episode"


def scope_text(version: str, rule: Rule) -> str:
    if not rule.patient_level:
        return EPISODE_SCOPE
    return NO_PROGRAMME.get(version, PROGRAMME_SCOPE)


def phases_text(phases: frozenset[str]) -> str:
    if phases >= OPEN_PHASES:
        return "Any phase while the episode is open"
    order = list(PHASE_WORDS)
    known = sorted(phases, key=lambda p: (order.index(p) if p in order else len(order), p))
    words = [PHASE_WORDS.get(p, plain(p)) for p in known]
    return sentence(", ".join(words))


def completion_text(rule: Rule) -> str:
    if rule.completes_by:
        return f"Closes by itself when this is recorded: {plain(rule.completes_by)}"
    if rule.outcomes:
        return "Closed by a person, who records the outcome"
    return "Closed by a person: done, or not applicable with a reason"
