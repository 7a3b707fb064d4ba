"""The rule catalogue: every rule of every registered pathway version, in words.

Generated from the rule definitions (the rule sets ``pathways.engine.registry``
lists) and the guideline seeds in ``docs/seeds/`` (``seeds``); nothing here
restates a rule (``words`` puts each field in words). The web page
(``/rules/``) and the API (``/api/v1/rules/``) both render this one build, so
they cannot disagree. A version appears here as soon as the registry lists it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import reverse

from pathways.catalogue.seeds import Citation, Seed, cite, load_seeds
from pathways.catalogue.words import (
    GROUP_WORDS,
    PRIORITY_WORDS,
    completion_text,
    due_text,
    grace_text,
    lead_text,
    phases_text,
    plain,
    recurrence_text,
    scope,
    scope_text,
    sentence,
    window_text,
)
from pathways.engine import RULESETS, Rule, RuleSet


def version_key(version: str) -> tuple[tuple[int, ...], str]:
    """``v2`` before ``v10``."""
    return tuple(int(n) for n in re.findall(r"\d+", version)), version


def registered_rulesets() -> list[RuleSet]:
    """Every registered rule set, oldest first."""
    return sorted(RULESETS.values(), key=lambda rs: version_key(rs.version))


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
