"""Pathway version 2 (pathway-spec "Version 2"): the patient's bone-health
programme, the seeds' corrections, and old records that do not flood the
worklist. Every guidance sentence cites its seed line (file:line of
docs/seeds); "project convention" marks a number the spec sets itself.

Everything in version 1 holds unless changed here. One module per group of
the specification, each rule declared beside its planner: the episode's
``triage``, ``branches``, ``acute`` and ``conservative`` care (V2.3, V2.4),
and the programme's ``follow_up``, ``dxa`` and ``drugs`` (V2.1, V2.2). The
rule set lists them in the specification's order.
"""

from __future__ import annotations

from pathways.engine.ruleset import RuleSet
from pathways.engine.v2 import (
    acute,
    branches,
    conservative,
    drugs,
    dxa,
    follow_up,
    phases,
    triage,
)

EPISODE_RULES = triage.RULES + branches.RULES + acute.RULES + conservative.RULES

PROGRAMME_RULES = (
    follow_up.CALCIUM_VITAMIN_D,
    follow_up.FALLS_PREVENTION,
    *dxa.RULES,
    *drugs.RULES,
    follow_up.NEW_FRACTURE_SCREEN,
    follow_up.TREATMENT_FAILURE_REVIEW,
    follow_up.MEDICATION_RECONCILIATION,
)

# "In surgical or pathologic_workup every conservative episode rule is
# suppressed, including mobilisation and pain_review_3w" (V2.3; 000:86).
SUPPRESSED_IN_BRANCH = frozenset(
    {
        "calcitonin_start",
        "calcitonin_stop",
        "mobilisation",
        "pain_review_3w",
        "nerve_root_block_consider",
        "augmentation_review_3m",
        "augmentation_consider_early",
        "augmentation_reconsider",
    }
)

V2 = RuleSet(
    version="v2",
    rules=EPISODE_RULES + PROGRAMME_RULES,
    branch=phases.branch,
    phase=phases.phase,
    flags=phases.flags,
    suppressed_in_branch=SUPPRESSED_IN_BRANCH,
    has_programme=True,
)
