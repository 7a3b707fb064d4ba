"""Plain, immutable inputs of the engine. The service layer builds them in batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class ObservationFact:
    id: str
    kind: str
    value: float | bool
    effective_date: date


@dataclass(frozen=True, slots=True)
class ImagingFact:
    id: str
    modality: str
    performed_date: date
    contrast: bool = False
    region: str = "spine"
    edema: bool | None = None


@dataclass(frozen=True, slots=True)
class ProcedureFact:
    id: str
    kind: str
    performed_date: date
    level: str = ""


@dataclass(frozen=True, slots=True)
class MedicationFact:
    id: str
    drug: str
    start_date: date
    stop_date: date | None = None

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.stop_date is None or self.stop_date > day)


@dataclass(frozen=True, slots=True)
class BoneDensityFact:
    id: str
    performed_date: date
    site: str
    bmd_g_cm2: float
    t_score: float | None = None


@dataclass(frozen=True, slots=True)
class ExistingTask:
    """What the database already holds for one (rule, occurrence)."""

    rule: str
    occurrence: int
    status: str
    closed_by_person: bool = False
    outcome: str = ""
    closed_on: date | None = None


@dataclass(frozen=True, slots=True)
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
    observations: tuple[ObservationFact, ...] = ()
    imaging: tuple[ImagingFact, ...] = ()
    procedures: tuple[ProcedureFact, ...] = ()
    medications: tuple[MedicationFact, ...] = ()
    bone_density: tuple[BoneDensityFact, ...] = ()
    tasks: tuple[ExistingTask, ...] = field(default=())
