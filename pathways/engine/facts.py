"""Plain inputs of the engine. The service layer builds them in batches.

Treated as immutable, but not ``frozen``: a frozen dataclass sets each field
through ``object.__setattr__`` and costs ~5x as much to build (4.8 against
0.9 µs for eleven fields, measured), and the sweep builds tens of these (and
the engine tens of results) per episode. ``unsafe_hash`` keeps them hashable
by value, as frozen ones are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(slots=True, unsafe_hash=True)
class ObservationFact:
    id: str
    kind: str
    value: float | bool
    effective_date: date


@dataclass(slots=True, unsafe_hash=True)
class ImagingFact:
    id: str
    modality: str
    performed_date: date
    contrast: bool = False
    region: str = "spine"
    edema: bool | None = None


@dataclass(slots=True, unsafe_hash=True)
class ProcedureFact:
    id: str
    kind: str
    performed_date: date
    level: str = ""


@dataclass(slots=True, unsafe_hash=True)
class MedicationFact:
    id: str
    drug: str
    start_date: date
    stop_date: date | None = None
    # An imported prescription with no evidence of use for 12 months
    # (pathway-spec V2.4): counts as on treatment, needs reconciling.
    unverified: bool = False

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.stop_date is None or self.stop_date > day)


@dataclass(slots=True, unsafe_hash=True)
class BoneDensityFact:
    id: str
    performed_date: date
    site: str
    bmd_g_cm2: float
    t_score: float | None = None


@dataclass(slots=True, unsafe_hash=True)
class ExistingTask:
    """What the database already holds for one (rule, occurrence)."""

    rule: str
    occurrence: int
    status: str
    closed_by_person: bool = False
    outcome: str = ""
    closed_on: date | None = None


@dataclass(slots=True, unsafe_hash=True)
class EpisodeFacts:
    episode_id: str
    levels: tuple[str, ...]
    onset_date: date
    identified_date: date
    # The date the episode was entered into vcftrack (historical imports).
    recorded_on: date
    etiology: str = "osteoporotic"
    neuro_status: str = "unknown"
    status: str = "active"
    close_reason: str = ""
    closed_on: date | None = None
    # Patient-level rules (DXA, denosumab, renal function, bisphosphonate
    # duration, calcitonin switch/restart) are raised on one episode only: the
    # patient's most recent open episode, so two episodes never duplicate them.
    owns_patient_rules: bool = True
    # The patient has a bone-health programme (v2): patient-level rules are
    # raised there, never on an episode (pathway-spec V2.1).
    in_programme: bool = False
    deceased_on: date | None = None
    observations: tuple[ObservationFact, ...] = ()
    imaging: tuple[ImagingFact, ...] = ()
    procedures: tuple[ProcedureFact, ...] = ()
    medications: tuple[MedicationFact, ...] = ()
    bone_density: tuple[BoneDensityFact, ...] = ()
    tasks: tuple[ExistingTask, ...] = field(default=())


@dataclass(slots=True, unsafe_hash=True)
class ProgrammeFacts:
    """The patient's bone-health programme (pathway-spec V2.1): every episode
    of the patient, the patient's drugs and DXAs, the programme's own tasks."""

    patient_id: str
    # The day the programme's record entered vcftrack: programme work due
    # long before it is raised once, on this day (pathway-spec V2.4).
    entered_on: date
    episodes: tuple[EpisodeFacts, ...]
    medications: tuple[MedicationFact, ...] = ()
    bone_density: tuple[BoneDensityFact, ...] = ()
    tasks: tuple[ExistingTask, ...] = ()
    status: str = "active"
    end_reason: str = ""
    ended_on: date | None = None
    deceased_on: date | None = None
    # Rules whose series ran under version 1 before the hand-over: their
    # occurrences closed before ``entered_on`` stay v1 history and are not
    # created again (pathway-spec V2.1 coexistence).
    v1_history: frozenset[str] = frozenset()
