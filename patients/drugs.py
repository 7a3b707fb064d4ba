"""Drug classes: which drugs count as what, in one place.

Plain Python (no Django), so that the pathway engine, which must stay pure,
reads the same sets as the models, the indicators and the FHIR importer.
"""

from __future__ import annotations

BISPHOSPHONATES = frozenset({"alendronate", "risedronate", "ibandronate", "zoledronic_acid"})
# Drugs that count as "anti-osteoporosis pharmacotherapy" for
# osteoporosis_rx_start and bmd_dxa (seeds 000, 003, 004). Calcitonin is an
# analgesic for the acute fracture here and is tracked by its own rules.
ANTI_OSTEOPOROSIS = BISPHOSPHONATES | {
    "denosumab",
    "teriparatide",
    "romosozumab",
    "strontium_ranelate",
}
ANALGESICS = frozenset({"nsaid", "acetaminophen", "opioid", "calcitonin"})
# One-drug classes, as the engine asks for them (a frozenset is hashable, so
# an evaluation filters a patient's records for each class once).
CALCITONIN = frozenset({"calcitonin"})
DENOSUMAB = frozenset({"denosumab"})
CALCIUM = frozenset({"calcium"})
VITAMIN_D = frozenset({"vitamin_d"})
OPIOID = frozenset({"opioid"})


def drug_class(drug: str) -> str:
    if drug in BISPHOSPHONATES:
        return "bisphosphonate"
    if drug == "denosumab":
        return "rank_ligand_inhibitor"
    if drug in {"teriparatide", "romosozumab"}:
        return "anabolic"
    if drug == "strontium_ranelate":
        return "other_antiosteoporosis"
    if drug == "calcitonin":
        return "calcitonin"
    if drug in {"calcium", "vitamin_d"}:
        return "supplement"
    return "analgesic"
