"""Version 2: what the episode planners read from the facts -- spine imaging
by region, a measurement or a flag ever recorded -- and the re-raising of a
decision task after a new trigger (pathway-spec V2.3)."""

from __future__ import annotations

from pathways.engine.context import Context, Trigger
from pathways.engine.facts import ImagingFact, ObservationFact
from pathways.engine.ruleset import Plan, Planned, Rule

# Imaging counts only for the region it shows (V2.3): a spine region is
# cervical, thoracic, lumbar (or sacral) or the whole spine; regions are free
# text from clients, so they are matched on these words.
SPINE_WORDS = ("spine", "cervical", "thoracic", "lumbar", "sacral")
# "spine" alone is the region vcftrack records by default: the spine as a whole.
WHOLE_SPINE = frozenset({"spine", "whole_spine", "complete_spine", "entire_spine", "total_spine"})
# Project convention for "severe" pain (002:53 "persistent severe pain after
# 3 weeks"): NRS >= 7, stated as such in the guidance.
SEVERE_PAIN_NRS = 7.0


def _norm(region: str) -> str:
    return region.strip().lower().replace("-", "_").replace(" ", "_")


def is_spine(region: str) -> bool:
    norm = _norm(region)
    return any(word in norm for word in SPINE_WORDS)


def is_whole_spine(region: str) -> bool:
    return _norm(region) in WHOLE_SPINE


def region_label(region: str) -> str:
    return region.replace("_", " ")


def spine_mris(ctx: Context) -> list[ImagingFact]:
    return [i for i in ctx.imaging if i.modality == "mri" and is_spine(i.region)]


def ever_at_least(ctx: Context, kind: str, threshold: float) -> ObservationFact | None:
    """The first measurement at or over a threshold. A later, lower value does
    not undo it (V2.3: only voiding the fact does)."""
    for obs in ctx.by_kind.get(kind, []):
        if not isinstance(obs.value, bool) and float(obs.value) >= threshold:
            return obs
    return None


def ever_true(ctx: Context, kind: str) -> list[ObservationFact]:
    return [o for o in ctx.by_kind.get(kind, []) if o.value is True]


def reraised(ctx: Context, rule: Rule, triggers: list[Trigger]) -> Plan:
    """One occurrence, and a new one for a trigger dated after the previous
    occurrence was closed by a person (001:83 "don't delay intervention for
    progressive deformity"; 000:91 deterioration "regardless of fracture age")."""
    occurrences: list[Planned] = []
    occurrence = 1
    current = triggers
    while current:
        occurrences.append(
            Planned(occurrence, max(current[0].on, ctx.identified), tuple(t.text for t in current))
        )
        closed = ctx.person_closed(rule.code, occurrence)
        if closed is None or closed.closed_on is None:
            break
        after = closed.closed_on
        current = [t for t in triggers if t.on > after]
        occurrence += 1
    return Plan(tuple(occurrences))
