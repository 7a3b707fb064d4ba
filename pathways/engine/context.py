"""Derived facts of one episode (or of a patient's programme) as of one date,
computed once per evaluation.

Every comparison of a date with ``as_of`` goes through ``reached()``: a date
not reached yet is remembered, and the smallest such date is the episode's
``next_review`` -- the evaluation cannot change before it unless a fact does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import Any, TypeVar

from pathways.engine.bmd import BmdChange as BmdChange
from pathways.engine.bmd import bmd_series
from pathways.engine.bmd import years_between as years_between
from pathways.engine.dates import add_days, add_months
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

# The drug classes live once, in plain Python (the engine's rules import them from here).
from patients.drugs import ANALGESICS as ANALGESICS
from patients.drugs import ANTI_OSTEOPOROSIS as ANTI_OSTEOPOROSIS
from patients.drugs import BISPHOSPHONATES as BISPHOSPHONATES
from patients.drugs import CALCITONIN as CALCITONIN
from patients.drugs import CALCIUM as CALCIUM
from patients.drugs import DENOSUMAB as DENOSUMAB
from patients.drugs import OPIOID as OPIOID
from patients.drugs import VITAMIN_D as VITAMIN_D

AUGMENTATION = frozenset({"vertebroplasty", "kyphoplasty"})
SURGERY = frozenset({"surgery"})
AUGMENTATION_OR_SURGERY = AUGMENTATION | SURGERY

# Thresholds (seed 001 for the early-augmentation set, seeds 000/003 for the
# surgical deformity set). Inclusive: "kyphosis >= 15 %".
SURGICAL_KYPHOSIS_PCT = 15.0
SURGICAL_HEIGHT_LOSS_PCT = 20.0
EARLY_AUG_THRESHOLDS = {
    "kyphosis_pct": 15.0,
    "scoliosis_pct": 10.0,
    "dorsal_wall_loss_pct": 10.0,
    "height_loss_pct": 20.0,
}
# Persistent pain at >= 4 weeks for the L2 nerve root block (seeds 003, 004).
NERVE_BLOCK_PAIN = 7.0
NERVE_BLOCK_FROM_DAY = 28
# A rise of 2 NRS points is the usual minimal clinically important change:
# pain rising that much while on analgesics counts as "worsening symptoms
# despite medication" (seed 001).
PAIN_WORSENING_POINTS = 2.0
# Calcitonin switch/restart: BMD falling more than 4 % a year (seed 004).
BMD_DECLINE_PCT_PER_YEAR = -4.0
# A gap longer than this between two bisphosphonate records starts a new
# course (a drug holiday), which restarts the duration review clock.
COURSE_GAP_DAYS = 90

SURGICAL_URGENT_KINDS = ("neuro_deficit", "instability", "canal_compromise", "neuro_deterioration")
EARLY_AUG_FLAG_KINDS = (
    "pulmonary_dysfunction",
    "parenteral_narcotics",
    "hospital_admission",
    "pain_med_contraindication",
    "worsening_symptoms",
)


def fmt_value(value: float | bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}"


_Row = TypeVar("_Row")
_T = TypeVar("_T")
_OBS_DATE = attrgetter("effective_date")
_OBS_ORDER = attrgetter("effective_date", "id")
_DONE_DATE = attrgetter("performed_date")
_DONE_ORDER = attrgetter("performed_date", "id")
_DXA_ORDER = attrgetter("performed_date", "site", "id")
_START_DATE = attrgetter("start_date")
_START_ORDER = attrgetter("start_date", "id")


def _as_of(
    rows: tuple[_Row, ...],
    dated: Callable[[_Row], date],
    order: Callable[[_Row], tuple[date, str] | tuple[date, str, str]],
    as_of: date,
    later: list[date],
) -> list[_Row]:
    """The rows dated on or before ``as_of``, in date order; the dates of the
    others go to ``later``."""
    if not rows:
        return []
    out = []
    for row in rows:
        day = dated(row)
        if day <= as_of:
            out.append(row)
        else:
            later.append(day)
    if len(out) > 1:
        out.sort(key=order)
    return out


@dataclass(slots=True, unsafe_hash=True)
class Trigger:
    """A dated reason for a task: the date it arose and what the user sees."""

    on: date
    text: str


_TRIGGER_DATE = attrgetter("on")


def in_date_order(triggers: list[Trigger]) -> list[Trigger]:
    """``triggers`` sorted by date, in place (stable: same-day triggers keep
    their order). For a list the caller has just built: most hold 0 or 1."""
    if len(triggers) > 1:
        triggers.sort(key=_TRIGGER_DATE)
    return triggers


class Context:
    def __init__(self, facts: EpisodeFacts, as_of: date) -> None:
        self.facts = facts
        self.as_of = as_of
        self.identified = facts.identified_date
        self.onset = facts.onset_date
        self.three_months = add_months(facts.identified_date, 3)
        # The acute and conservative rules expire here.
        self.twelve_months = add_months(facts.identified_date, 12)
        self._watch: list[date] = []
        self._bmd: list[BmdChange] | None = None
        # Rules ask for the same drug classes again and again (about a dozen
        # times an evaluation): each class's records are filtered once.
        self._meds: dict[frozenset[str] | set[str], list[MedicationFact]] = {}
        self._course: dict[tuple[frozenset[str], date], date | None] = {}
        self._mris: list[ImagingFact] | None = None
        # Context.once's results (Any: each derivation has its own type).
        self._once: dict[Callable[[Context], Any], Any] = {}
        # Facts dated after as_of did not exist yet on as_of: a replay of the
        # past must not see the future. A fact dated after as_of (a replay of
        # the past) changes the evaluation on its date, and so does a
        # medication's stop date (a drug is active until then): next_review
        # must not skip them.
        later: list[date] = []
        self.observations: list[ObservationFact] = _as_of(
            facts.observations, _OBS_DATE, _OBS_ORDER, as_of, later
        )
        self.imaging: list[ImagingFact] = _as_of(
            facts.imaging, _DONE_DATE, _DONE_ORDER, as_of, later
        )
        self.procedures: list[ProcedureFact] = _as_of(
            facts.procedures, _DONE_DATE, _DONE_ORDER, as_of, later
        )
        self.medications: list[MedicationFact] = _as_of(
            facts.medications, _START_DATE, _START_ORDER, as_of, later
        )
        self.dxa: list[BoneDensityFact] = _as_of(
            facts.bone_density, _DONE_DATE, _DXA_ORDER, as_of, later
        )
        self.tasks: dict[tuple[str, int], ExistingTask] = {
            (t.rule, t.occurrence): t for t in facts.tasks
        }
        for m in self.medications:
            if m.stop_date is not None and m.stop_date > as_of:
                later.append(m.stop_date)
        if later:
            self._watch.append(min(later))
        self.by_kind: dict[str, list[ObservationFact]] = {}
        for obs in self.observations:
            values = self.by_kind.get(obs.kind)
            if values is None:
                self.by_kind[obs.kind] = [obs]
            else:
                values.append(obs)

    def once(self, derive: Callable[[Context], _T]) -> _T:
        """``derive(self)``, worked out once per evaluation: the branch, the
        phase and several planners ask for the same triggers. ``derive`` must
        read nothing but the context (a date it watches twice is watched
        once: the same next_review), and no caller may change its result."""
        memo = self._once
        if derive in memo:
            return memo[derive]
        value = derive(self)
        memo[derive] = value
        return value

    # -- time -------------------------------------------------------------
    def reached(self, day: date) -> bool:
        if self.as_of >= day:
            return True
        self._watch.append(day)
        return False

    def watch(self, day: date) -> None:
        if day > self.as_of:
            self._watch.append(day)

    def next_review(self) -> date | None:
        return min(self._watch) if self._watch else None

    def day(self, n: int) -> date:
        return add_days(self.identified, n)

    # -- observations -----------------------------------------------------
    def latest(self, kind: str) -> ObservationFact | None:
        values = self.by_kind.get(kind)
        return values[-1] if values else None

    def first(self, kind: str) -> ObservationFact | None:
        values = self.by_kind.get(kind)
        return values[0] if values else None

    def flag_on(self, kind: str) -> ObservationFact | None:
        """The observation that set a boolean flag, if its latest value is true.

        The flag counts from the first true value of the current true run.
        """
        values = self.by_kind.get(kind)
        if not values or values[-1].value is not True:
            return None
        start = values[-1]
        for obs in reversed(values):
            if obs.value is not True:
                break
            start = obs
        return start

    def first_at_least(self, kind: str, threshold: float) -> ObservationFact | None:
        """The first measurement at or over a threshold, if the latest still is."""
        values = self.by_kind.get(kind)
        if not values:
            return None
        latest = values[-1]
        if isinstance(latest.value, bool) or float(latest.value) < threshold:
            return None
        for obs in values:
            if not isinstance(obs.value, bool) and float(obs.value) >= threshold:
                return obs
        return latest  # pragma: no cover - latest itself qualifies

    def pain_scores(self) -> list[ObservationFact]:
        return self.by_kind.get("pain_nrs", [])

    # -- medications ------------------------------------------------------
    def meds(self, drugs: frozenset[str] | set[str]) -> list[MedicationFact]:
        if not isinstance(drugs, frozenset):
            return [m for m in self.medications if m.drug in drugs]
        hit = self._meds.get(drugs)
        if hit is None:
            hit = self._meds[drugs] = [m for m in self.medications if m.drug in drugs]
        return hit

    def any_active(self, drugs: frozenset[str], day: date) -> bool:
        """``bool(self.active(drugs, day))``, without building the list."""
        for m in self.meds(drugs):
            if m.start_date <= day and (m.stop_date is None or m.stop_date > day):
                return True
        return False

    def active(self, drugs: frozenset[str] | set[str], day: date) -> list[MedicationFact]:
        # MedicationFact.active_on, inline: it runs for every record of the
        # class, several times an evaluation.
        return [
            m
            for m in self.meds(drugs)
            if m.start_date <= day and (m.stop_date is None or m.stop_date > day)
        ]

    def course_start(self, drugs: frozenset[str] | set[str], day: date) -> date | None:
        """Start of the continuous course of ``drugs`` that is active on ``day``."""
        if isinstance(drugs, frozenset):
            key = (drugs, day)
            if key in self._course:
                return self._course[key]
            self._course[key] = start = self._course_start(drugs, day)
            return start
        return self._course_start(drugs, day)

    def _course_start(self, drugs: frozenset[str] | set[str], day: date) -> date | None:
        # self.medications is already in start-date order (see _as_of).
        records = self.meds(drugs)
        if not any(m.active_on(day) for m in records):
            return None
        start: date | None = None
        covered_to: date | None = None
        for med in records:
            end = med.stop_date or day
            if covered_to is None or (med.start_date - covered_to).days > COURSE_GAP_DAYS:
                start = med.start_date
                covered_to = end
            else:
                covered_to = max(covered_to, end)
        return start

    # -- imaging / procedures --------------------------------------------
    def mris(self) -> list[ImagingFact]:
        if self._mris is None:
            self._mris = [i for i in self.imaging if i.modality == "mri"]
        return self._mris

    def last_spine_imaging_before(self, day: date, *, mri_only: bool = False) -> date | None:
        dates = [
            i.performed_date
            for i in self.imaging
            if i.performed_date <= day and (not mri_only or i.modality == "mri")
        ]
        return max(dates) if dates else None

    def procedure(self, kinds: frozenset[str] | set[str]) -> ProcedureFact | None:
        for proc in self.procedures:
            if proc.kind in kinds:
                return proc
        return None

    # -- tasks ------------------------------------------------------------
    def person_closed(self, rule: str, occurrence: int = 1) -> ExistingTask | None:
        task = self.tasks.get((rule, occurrence))
        if task and task.closed_by_person and task.status in {"done", "not_applicable"}:
            return task
        return None

    # -- derived ----------------------------------------------------------
    def bmd_series(self) -> list[BmdChange]:
        """Annualised % change between successive DXAs at the same site
        (``bmd.bmd_series``), computed once per evaluation."""
        if self._bmd is None:
            self._bmd = bmd_series(self.dxa)
        return self._bmd

    def bmd_changes(self) -> list[dict[str, object]]:
        """The BMD changes as shown to the user (rounded to 2 decimals)."""
        return [
            {
                "site": c.site,
                "from": c.start,
                "to": c.to,
                "from_bmd": c.from_bmd,
                "to_bmd": c.to_bmd,
                "pct_per_year": round(c.pct_per_year, 2),
            }
            for c in self.bmd_series()
        ]


class ProgrammeContext(Context):
    """The derived facts of a patient's programme: every episode, the drugs,
    the DXAs and the programme's own tasks, as of one date."""

    def __init__(self, facts: ProgrammeFacts, as_of: date) -> None:
        episodes = sorted(facts.episodes, key=lambda e: (e.identified_date, e.episode_id))
        first = episodes[0].identified_date if episodes else facts.entered_on
        super().__init__(
            EpisodeFacts(
                episode_id=f"programme:{facts.patient_id}",
                levels=(),
                onset_date=first,
                identified_date=first,
                recorded_on=facts.entered_on,
                medications=facts.medications,
                bone_density=facts.bone_density,
                tasks=facts.tasks,
            ),
            as_of,
        )
        self.first_identified = first
        self.entered_on = facts.entered_on
        # A replay of the past must not see a fracture identified later.
        self.episodes = [e for e in episodes if e.identified_date <= as_of]
        later = [e.identified_date for e in episodes if e.identified_date > as_of]
        if later:
            self.watch(min(later))
