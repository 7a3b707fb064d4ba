"""The rule catalogue: every rule of every registered pathway version, in words.

Generated from the rule definitions (``pathways.engine`` rule sets) and the
guideline seeds in ``docs/seeds/``; nothing here restates a rule. The web page
(``/rules/``) and the API (``/api/v1/rules/``) both render this one build, so
they cannot disagree.

A version appears here as soon as its module registers it: every module
``pathways/engine/rules_v<N>.py`` is imported once (each ends with
``register(RuleSet(...))``), so a new version needs no line in this file.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from pathways import engine as engine_pkg
from pathways.engine import RULESETS, Rule, RuleSet

SEEDS_DIR = Path(settings.BASE_DIR) / "docs" / "seeds"
RULES_MODULE = re.compile(r"rules_v\d+")

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
OPEN_PHASES = frozenset(PHASE_WORDS)

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
_SEED_REF = re.compile(r"(?P<seed>\d{3})(?::(?P<lines>.+))?")
_LINE_SPAN = re.compile(r"(?P<first>\d+)(?:\s*[-\u2013]\s*(?P<last>\d+))?")
_QUESTION = re.compile(r"^(?:what|which)\s+(?:is|are)\s+(?:the\s+)?", re.IGNORECASE)


# ------------------------------------------------------------ registry --
@functools.cache
def _import_rule_modules() -> tuple[str, ...]:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(engine_pkg.__path__)
        if RULES_MODULE.fullmatch(info.name)
    )
    for name in names:
        importlib.import_module(f"{engine_pkg.__name__}.{name}")
    return tuple(names)


def version_key(version: str) -> tuple[tuple[int, ...], str]:
    """``v2`` before ``v10``."""
    return tuple(int(n) for n in re.findall(r"\d+", version)), version


def registered_rulesets() -> list[RuleSet]:
    """Every registered rule set, oldest first."""
    _import_rule_modules()
    return sorted(RULESETS.values(), key=lambda rs: version_key(rs.version))


# --------------------------------------------------------------- seeds --
@dataclass(frozen=True, slots=True)
class Seed:
    number: str
    guideline: str
    lines: tuple[str, ...]


def guideline_name(first_line: str) -> str:
    """``What is the best treatment for X?`` -> ``Best treatment for X``."""
    name = _QUESTION.sub("", first_line.strip()).rstrip("?").strip()
    return name[:1].upper() + name[1:]


@functools.cache
def load_seeds(directory: Path = SEEDS_DIR) -> dict[str, Seed]:
    out: dict[str, Seed] = {}
    for path in sorted(directory.glob("[0-9][0-9][0-9]_*.txt")):
        lines = tuple(path.read_text(encoding="utf-8").splitlines())
        number = path.name[:3]
        out[number] = Seed(number, guideline_name(lines[0] if lines else ""), lines)
    return out


@dataclass(frozen=True, slots=True)
class SeedLine:
    number: int
    text: str


@dataclass(frozen=True, slots=True)
class Citation:
    ref: str
    seed: str
    guideline: str
    # The cited lines (none when the whole guideline is cited).
    lines: tuple[SeedLine, ...]
    # Why the reference does not resolve ("" when it does).
    problem: str = ""
    # The lines as cited: "line 85", "lines 64\u201368", "lines 20, 26".
    line_label: str = ""


def _quote(raw: str) -> str:
    return raw.strip().lstrip("\u2022").strip()


def cite(ref: str, seeds: dict[str, Seed]) -> Citation:
    """``004``, ``004:85``, ``004:64-68`` or ``004:20,26`` -> the quoted lines."""
    match = _SEED_REF.fullmatch(ref.strip())
    if match is None:
        return Citation(ref, "", "", (), problem="not a guideline reference")
    seed = seeds.get(match["seed"])
    if seed is None:
        return Citation(ref, match["seed"], "", (), problem="no such guideline")
    if not match["lines"]:
        return Citation(ref, seed.number, seed.guideline, ())
    numbers: list[int] = []
    spans: list[str] = []
    for part in match["lines"].split(","):
        span = _LINE_SPAN.fullmatch(part.strip())
        if span is None:
            return Citation(ref, seed.number, seed.guideline, (), problem="not a line number")
        first = int(span["first"])
        last = int(span["last"] or first)
        if not 1 <= first <= last <= len(seed.lines):
            return Citation(
                ref, seed.number, seed.guideline, (), problem="no such line in the guideline"
            )
        numbers.extend(range(first, last + 1))
        spans.append(f"{first}\u2013{last}" if last > first else str(first))
    lines = tuple(SeedLine(n, _quote(seed.lines[n - 1])) for n in numbers)
    lines = tuple(line for line in lines if line.text)
    if not lines:
        return Citation(ref, seed.number, seed.guideline, (), problem="the cited line is blank")
    label = ("lines " if len(numbers) > 1 else "line ") + ", ".join(spans)
    return Citation(ref, seed.number, seed.guideline, lines, line_label=label)


# --------------------------------------------------------------- words --
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


# ------------------------------------------------------------- catalogue --
@dataclass(frozen=True, slots=True)
class RuleEntry:
    version: str
    code: str
    # The page anchor of this version's rule (``v1-bmd_dxa``); the newest
    # version that has the code also answers to ``#bmd_dxa``.
    anchor: str
    newest: bool
    title: str
    scope: str
    patient_level: bool
    scope_text: str
    group: str
    group_text: str
    phases: tuple[str, ...]
    phases_text: str
    trigger: str
    anchor_from: str
    offset_days: int
    offset_months: int
    due_text: str
    recurs_months: int
    recurrence_text: str
    window: str
    window_text: str
    priority: str
    priority_text: str
    grace_days: int
    grace_text: str
    lead_days: int
    lead_text: str
    expires_at_12_months: bool
    completes_by: str
    completion_text: str
    outcomes: tuple[str, ...]
    outcome_texts: tuple[str, ...]
    guidance: str
    seed_refs: tuple[str, ...]
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class GroupEntry:
    group: str
    text: str
    rules: tuple[RuleEntry, ...]


@dataclass(frozen=True, slots=True)
class VersionEntry:
    version: str
    number: str
    newest: bool
    rules: tuple[RuleEntry, ...]

    @property
    def groups(self) -> tuple[GroupEntry, ...]:
        order: dict[str, list[RuleEntry]] = {}
        for entry in self.rules:
            order.setdefault(entry.group, []).append(entry)
        return tuple(
            GroupEntry(group, rules[0].group_text, tuple(rules)) for group, rules in order.items()
        )


def rule_anchor(version: str, code: str) -> str:
    return f"{version}-{code}"


def rule_url(version: str, code: str) -> str:
    """The catalogue entry of a version's rule: ``/rules/#v1-bmd_dxa``.

    Without a version, ``/rules/#bmd_dxa``: the newest version that has the rule.
    """
    return f"{reverse('rule_catalogue')}#{rule_anchor(version, code) if version else code}"


def _entry(version: str, rule: Rule, newest: bool, seeds: dict[str, Seed]) -> RuleEntry:
    return RuleEntry(
        version=version,
        code=rule.code,
        anchor=rule_anchor(version, rule.code),
        newest=newest,
        title=sentence(rule.title),
        scope=scope(version, rule),
        patient_level=rule.patient_level,
        scope_text=scope_text(version, rule),
        group=rule.group,
        group_text=GROUP_WORDS.get(rule.group, sentence(rule.group)),
        phases=tuple(sorted(rule.phases)),
        # A programme runs across the patient's fractures, whatever their phases.
        phases_text=(
            "While the patient's programme runs"
            if scope(version, rule) == "programme"
            else phases_text(rule.phases)
        ),
        trigger=sentence(rule.trigger) or "Always",
        anchor_from=plain(rule.anchor),
        offset_days=rule.offset_days,
        offset_months=rule.offset_months,
        due_text=due_text(rule),
        recurs_months=rule.recurs_months,
        recurrence_text=recurrence_text(rule),
        window=plain(rule.window),
        window_text=window_text(rule),
        priority=rule.priority,
        priority_text=PRIORITY_WORDS.get(rule.priority, sentence(rule.priority)),
        grace_days=rule.effective_grace,
        grace_text=grace_text(rule),
        lead_days=rule.effective_lead,
        lead_text=lead_text(rule),
        expires_at_12_months=rule.expires_at_12_months,
        completes_by=plain(rule.completes_by),
        completion_text=completion_text(rule),
        outcomes=rule.outcomes,
        outcome_texts=tuple(sentence(o) for o in rule.outcomes),
        guidance=plain(rule.guidance),
        seed_refs=rule.seed_refs,
        citations=tuple(cite(ref, seeds) for ref in rule.seed_refs),
    )


def build_catalogue(version: str | None = None) -> list[VersionEntry]:
    """The catalogue, newest version first; ``version`` keeps only that one.

    Raises ``KeyError`` for a version nobody registered.
    """
    rulesets = registered_rulesets()
    if version is not None and version not in {rs.version for rs in rulesets}:
        raise KeyError(version)
    seeds = load_seeds()
    # The bare ``#code`` anchor goes to the newest version that has the rule.
    newest_of: dict[str, str] = {}
    for rs in rulesets:
        for rule in rs.rules:
            newest_of[rule.code] = rs.version
    newest_version = rulesets[-1].version if rulesets else ""
    out = []
    for rs in reversed(rulesets):
        if version is not None and rs.version != version:
            continue
        entries = tuple(
            _entry(rs.version, rule, newest_of[rule.code] == rs.version, seeds) for rule in rs.rules
        )
        out.append(
            VersionEntry(
                version=rs.version,
                number=rs.version.lstrip("v"),
                newest=rs.version == newest_version,
                rules=entries,
            )
        )
    return out


def versions() -> list[str]:
    return [rs.version for rs in registered_rulesets()]
