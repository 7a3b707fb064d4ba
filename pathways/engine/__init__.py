"""The pure pathway engine: (episode facts, as_of) -> (phase, tasks, projected plan).

No ORM and no clock in here: everything time-dependent takes ``as_of``.
"""

from __future__ import annotations

from pathways.engine import _compiled

# The compiled build of these same sources, when there is an up-to-date one
# (optional: python3 dev.py compile; VCFTRACK_ENGINE, see _compiled.py).
__path__ = _compiled.search_path(__path__)

from pathways.engine.engine import evaluate
from pathways.engine.facts import (
    BoneDensityFact,
    EpisodeFacts,
    ExistingTask,
    ImagingFact,
    MedicationFact,
    ObservationFact,
    ProcedureFact,
    ProgrammeFacts,
)
from pathways.engine.programme import evaluate_patient, evaluate_programme
from pathways.engine.registry import CURRENT_VERSION, RULESETS, get_ruleset
from pathways.engine.result import Evaluation, PatientEvaluation, TaskSpec
from pathways.engine.ruleset import Rule, RuleSet

__all__ = [
    "CURRENT_VERSION",
    "RULESETS",
    "PatientEvaluation",
    "ProgrammeFacts",
    "evaluate_patient",
    "evaluate_programme",
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
