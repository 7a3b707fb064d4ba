"""The pure pathway engine: (episode facts, as_of) -> (phase, tasks, projected plan).

No ORM and no clock in here: everything time-dependent takes ``as_of``.
"""

from __future__ import annotations

from pathways.engine.engine import evaluate
from pathways.engine.facts import (
    BoneDensityFact,
    EpisodeFacts,
    ExistingTask,
    ImagingFact,
    MedicationFact,
    ObservationFact,
    ProcedureFact,
)
from pathways.engine.result import Evaluation, TaskSpec
from pathways.engine.ruleset import RULESETS, Rule, RuleSet, get_ruleset

__all__ = [
    "RULESETS",
    "BoneDensityFact",
    "EpisodeFacts",
    "Evaluation",
    "ExistingTask",
    "ImagingFact",
    "MedicationFact",
    "ObservationFact",
    "ProcedureFact",
    "Rule",
    "RuleSet",
    "TaskSpec",
    "evaluate",
    "get_ruleset",
]
