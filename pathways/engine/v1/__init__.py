"""Pathway version 1: the rules of docs/pathway.md, with their seeds, and its
own branch, phase and flag decisions (``phases``).

Seeds: 000 junctional OVF management, 001 osteopenia + atraumatic VCF,
002 VCF treatment overview, 003 osteoporosis with lumbar VCF, 004 best
treatment for osteoporotic spine fracture (calcitonin, bone health).

One module per group of the specification, each rule declared beside its
planner; the rule set lists them in the specification's order.
"""

from __future__ import annotations

from pathways.engine.ruleset import Rule, RuleSet
from pathways.engine.v1 import acute, bone_health, branches, conservative, phases, triage

RULES: tuple[Rule, ...] = (
    triage.RULES + branches.RULES + acute.RULES + conservative.RULES + bone_health.RULES
)

# Rules the branches suppress: "While an episode is in surgical or
# pathologic_workup, the conservative rules (calcitonin, 3-month augmentation
# review, nerve root block) are not raised." Early augmentation belongs to the
# same decision and is suppressed with the 3-month review: with a deficit,
# conservative care is contraindicated (seed 000); a pathologic fracture goes
# to the oncology MDT, which includes interventional radiology (seed 002).
SUPPRESSED_IN_BRANCH = frozenset(
    {
        "calcitonin_start",
        "calcitonin_stop",
        "augmentation_review_3m",
        "augmentation_consider_early",
        "nerve_root_block_consider",
    }
)

V1 = RuleSet(
    version="v1",
    rules=RULES,
    branch=phases.branch,
    phase=phases.phase,
    flags=phases.flags,
    suppressed_in_branch=SUPPRESSED_IN_BRANCH,
)
