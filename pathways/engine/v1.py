"""Pathway version 1: its rules and its own branch, phase and flag decisions."""

from __future__ import annotations

from pathways.engine import phases_v1
from pathways.engine.rules_v1 import RULES_V1, SUPPRESSED_IN_BRANCH
from pathways.engine.ruleset import RuleSet

V1 = RuleSet(
    version="v1",
    rules=RULES_V1,
    branch=phases_v1.branch,
    phase=phases_v1.phase,
    flags=phases_v1.flags,
    suppressed_in_branch=SUPPRESSED_IN_BRANCH,
)
