"""Pure engine micro-benchmark (no database).

    python -m tests.bench.engine [--episodes 2000] [--rounds 5] [--seed 7] [--pathway both]

Builds a realistic mix of episodes -- new ones in triage, acute and
conservative ones with pain scores and analgesics, 3-month reviews, long-term
bone health with DXAs / bisphosphonates / denosumab, surgical and pathologic
branches, historical imports -- each with the task rows a steady-state
database would hold (the result of its own previous evaluation), then
evaluates them all, several rounds, and prints evaluations/s and the mean
time per evaluation by kind. With version 2 (``--pathway v2`` or ``both``,
the default) the same panel runs as patients in a programme: each episode
with v2's episode rules, and each patient's programme once; µs are printed
per episode evaluation and per programme evaluation. The target is well under 0.3 ms per typical
episode, so that the sweep (>= 2,000 episodes/s including DB work) is
dominated by the database, not the rules.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from pathways.engine import (
    BoneDensityFact,
    EpisodeFacts,
    ExistingTask,
    ImagingFact,
    MedicationFact,
    ObservationFact,
    ProcedureFact,
    ProgrammeFacts,
    RuleSet,
    evaluate,
    evaluate_programme,
    get_ruleset,
)
from pathways.engine.dates import add_months

RULESET = get_ruleset("v1")

TODAY = date(2026, 11, 22)
# (kind, weight, age range in days since identification)
MIX = [
    ("new", 10, (0, 6)),
    ("acute", 20, (7, 27)),
    ("conservative", 20, (28, 100)),
    ("review", 10, (80, 200)),
    ("bone_health", 25, (365, 1500)),
    ("branch", 8, (0, 120)),
    ("historical", 7, (400, 3000)),
]


# Kinds whose patients have had pain, analgesics and bone treatment.
TREATED = ("acute", "conservative", "review", "bone_health", "historical", "branch")


@dataclass
class _Facts:
    """The facts of one benchmark episode, built in the order of the random draws."""

    n: int
    identified: date
    rnd: random.Random
    ids: Iterator[int] = field(default_factory=lambda: iter(range(1_000_000)))
    obs: list[ObservationFact] = field(default_factory=list)
    imaging: list[ImagingFact] = field(default_factory=list)
    procs: list[ProcedureFact] = field(default_factory=list)
    meds: list[MedicationFact] = field(default_factory=list)
    scans: list[BoneDensityFact] = field(default_factory=list)
    neuro: str = "intact"
    etiology: str = "osteoporotic"

    def nid(self, prefix: str) -> str:
        return f"{prefix}{self.n}-{next(self.ids)}"

    def on(self, days: int) -> date:
        return min(TODAY, self.identified + timedelta(days=days))

    def screening(self) -> None:
        nid, on = self.nid, self.on
        self.obs.append(ObservationFact(nid("o"), "malignancy_suspected", False, self.identified))
        self.imaging.append(
            ImagingFact(nid("i"), "mri", on(self.rnd.randint(0, 6)), False, "spine", True)
        )

    def treatment(self, age: int) -> None:
        rnd, nid, on, meds = self.rnd, self.nid, self.on, self.meds
        for d in range(7, min(age, 200), rnd.choice([7, 14, 21])):
            self.obs.append(ObservationFact(nid("o"), "pain_nrs", float(rnd.randint(2, 9)), on(d)))
        meds.append(MedicationFact(nid("m"), "nsaid", on(0), on(40)))
        if rnd.random() < 0.3:
            meds.append(MedicationFact(nid("m"), "opioid", on(2), on(30)))
        if rnd.random() < 0.4:
            meds.append(MedicationFact(nid("m"), "calcitonin", on(1), on(29)))
        if rnd.random() < 0.8:
            meds.append(MedicationFact(nid("m"), rnd.choice(["alendronate", "risedronate"]), on(3)))
        meds.append(MedicationFact(nid("m"), "calcium", on(0)))
        meds.append(MedicationFact(nid("m"), "vitamin_d", on(0)))
        if rnd.random() < 0.2:
            self.obs.append(
                ObservationFact(nid("o"), "kyphosis_pct", float(rnd.choice([8, 12, 16])), on(10))
            )

    def bone_health(self, age: int) -> None:
        rnd, nid, on = self.rnd, self.nid, self.on
        if rnd.random() < 0.3:
            start = on(30)
            for k in range(0, age // 180):
                self.meds.append(MedicationFact(nid("m"), "denosumab", add_months(start, 6 * k)))
        bmd = 0.9
        for y in range(1, age // 365 + 1):
            bmd *= rnd.choice([0.94, 0.97, 1.0, 1.01])
            self.scans.append(
                BoneDensityFact(nid("b"), on(365 * y + rnd.randint(-20, 20)), "lumbar_spine", bmd)
            )
        if rnd.random() < 0.5:
            self.procs.append(ProcedureFact(nid("p"), "kyphoplasty", on(100)))

    def branch(self) -> None:
        if self.rnd.random() < 0.5:
            self.neuro = "deficit"
        else:
            self.etiology = "pathologic_suspected"
            self.obs.append(
                ObservationFact(self.nid("o"), "malignancy_suspected", True, self.on(2))
            )


def build(kind: str, age: int, rnd: random.Random, n: int) -> EpisodeFacts:
    identified = TODAY - timedelta(days=age)
    onset = identified - timedelta(days=rnd.choice([0, 1, 2, 3, 7, 14]))
    facts = _Facts(n, identified, rnd)
    recorded = identified
    if kind != "new" or rnd.random() < 0.5:
        facts.screening()
    if kind in TREATED:
        facts.treatment(age)
    if kind in ("bone_health", "historical"):
        facts.bone_health(age)
    if kind == "historical":
        recorded = TODAY - timedelta(days=rnd.randint(0, 30))
    if kind == "branch":
        facts.branch()
    return EpisodeFacts(
        episode_id=f"e{n}",
        levels=tuple(rnd.sample(["T11", "T12", "L1", "L2", "L3", "L4"], rnd.choice([1, 1, 2]))),
        onset_date=onset,
        identified_date=identified,
        recorded_on=recorded,
        etiology=facts.etiology,
        neuro_status=facts.neuro,
        observations=tuple(facts.obs),
        imaging=tuple(facts.imaging),
        procedures=tuple(facts.procs),
        medications=tuple(facts.meds),
        bone_density=tuple(facts.scans),
    )


def steady_state(facts: EpisodeFacts, ruleset: RuleSet = RULESET) -> EpisodeFacts:
    """Facts with the task rows the database holds after yesterday's evaluation."""
    yesterday = TODAY - timedelta(days=1)
    ev = evaluate(facts, max(yesterday, facts.identified_date), ruleset)
    rows = tuple(
        ExistingTask(t.rule, t.occurrence, t.status, False, t.outcome, t.closed_on)
        for t in ev.tasks
    )
    return replace(facts, tasks=rows)


def as_patient(facts: EpisodeFacts, n: int) -> tuple[EpisodeFacts, ProgrammeFacts]:
    """Version 2: the episode in its patient's programme, both at steady state."""
    v2 = get_ruleset("v2")
    episode = steady_state(replace(facts, in_programme=True, tasks=()), v2)
    programme = ProgrammeFacts(
        patient_id=f"p{n}",
        entered_on=facts.identified_date,
        episodes=(episode,),
        medications=facts.medications,
        bone_density=facts.bone_density,
    )
    yesterday = max(TODAY - timedelta(days=1), facts.identified_date)
    ev = evaluate_programme(programme, yesterday, v2)
    rows = tuple(
        ExistingTask(t.rule, t.occurrence, t.status, False, t.outcome, t.closed_on)
        for t in ev.tasks
    )
    return episode, replace(programme, tasks=rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pathway", choices=["v1", "v2", "both"], default="both")
    args = parser.parse_args()
    from pathways.engine._compiled import in_use

    print(f"engine: {in_use()} (VCFTRACK_ENGINE=python or compiled to choose; dev.py compile)")

    rnd = random.Random(args.seed)
    kinds = [k for k, _w, _a in MIX]
    weights = [w for _k, w, _a in MIX]
    ages = {k: a for k, _w, a in MIX}
    raw: list[tuple[str, EpisodeFacts]] = []
    for n in range(args.episodes):
        kind = rnd.choices(kinds, weights)[0]
        raw.append((kind, build(kind, rnd.randint(*ages[kind]), rnd, n)))
    versions = ["v1", "v2"] if args.pathway == "both" else [args.pathway]
    for version in versions:
        if version == "v1":
            run_v1([(k, steady_state(f)) for k, f in raw], kinds, args.rounds)
        else:
            run_v2([(k, *as_patient(f, n)) for n, (k, f) in enumerate(raw)], args.rounds)


def _best_of(rounds: int, work: Callable[[], None]) -> float:
    best = float("inf")
    for _round in range(rounds):
        # CPU time: the machine is shared, and wall time would count the others.
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def run_v1(panel: list[tuple[str, EpisodeFacts]], kinds: list[str], rounds: int) -> None:
    facts_per = sum(
        len(f.observations)
        + len(f.imaging)
        + len(f.procedures)
        + len(f.medications)
        + len(f.bone_density)
        for _k, f in panel
    ) / len(panel)
    tasks_per = sum(len(f.tasks) for _k, f in panel) / len(panel)

    # The panel is long-lived here but short-lived in the sweep: keep the
    # cyclic GC from re-scanning it on every collection.
    gc.collect()
    gc.freeze()
    for _kind, facts in panel[:200]:  # warm up
        evaluate(facts, TODAY, RULESET)

    def best_of(items: list[EpisodeFacts]) -> float:
        def work() -> None:
            for facts in items:
                evaluate(facts, TODAY, RULESET)

        return _best_of(rounds, work)

    total = len(panel)
    best = best_of([f for _k, f in panel])
    print(
        f"version 1: episodes: {total}  (mean {facts_per:.1f} facts, "
        + f"{tasks_per:.1f} stored tasks each)"
    )
    print(f"rounds: {rounds}; best round {best * 1000:.1f} ms")
    print(f"evaluations/s: {total / best:,.0f}  [target >= 12,000]")
    print(f"mean per evaluation: {best / total * 1e6:.0f} us  [target <= 80]")
    print("by kind (mean of the best round, us):")
    for kind in kinds:
        items = [f for k, f in panel if k == kind]
        if items:
            print(
                f"  {kind:<13} {best_of(items) / len(items) * 1e6:7.0f}   ({len(items)} episodes)"
            )


def run_v2(panel: list[tuple[str, EpisodeFacts, ProgrammeFacts]], rounds: int) -> None:
    v2 = get_ruleset("v2")
    gc.collect()
    gc.freeze()
    for _kind, episode, programme in panel[:200]:  # warm up
        evaluate(episode, TODAY, v2)
        evaluate_programme(programme, TODAY, v2)

    def episodes() -> None:
        for _kind, episode, _programme in panel:
            evaluate(episode, TODAY, v2)

    def programmes() -> None:
        for _kind, _episode, programme in panel:
            evaluate_programme(programme, TODAY, v2)

    total = len(panel)
    ep_best = _best_of(rounds, episodes)
    prog_best = _best_of(rounds, programmes)
    both = ep_best + prog_best
    print(f"version 2: {total} patients with one episode each, in a programme")
    print(
        f"  per episode evaluation: {ep_best / total * 1e6:.0f} us; per programme evaluation: "
        f"{prog_best / total * 1e6:.0f} us  [target <= 80 each]"
    )
    print(
        f"  evaluations/s (episodes and programmes): {2 * total / both:,.0f}; "
        f"patients/s: {total / both:,.0f}  [target >= 12,000 evaluations/s]"
    )


if __name__ == "__main__":
    main()
