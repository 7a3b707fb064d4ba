"""Models of the pathways app, one module per part of the record:

- ``episodes``: episodes and the bone-health programme;
- ``facts``: observations, imaging, procedures recorded on an episode;
- ``tasks``: follow-up tasks, their events, phase transitions;
- ``dashboard``: the dashboard's stored per-episode cohort facts and its
  logs of open-task and phase counts.
"""

from pathways.models.dashboard import ActivePhaseCount, CohortFacts, OpenTaskCount
from pathways.models.episodes import (
    CloseReason,
    Episode,
    EpisodeQuerySet,
    EpisodeStatus,
    Etiology,
    NeuroStatus,
    Phase,
    Programme,
    ProgrammeStatus,
)
from pathways.models.facts import (
    BOOLEAN_KINDS,
    BOOLEAN_KINDS_SORTED,
    NUMERIC_KINDS,
    EpisodeFactModel,
    Imaging,
    Modality,
    Observation,
    ObservationKind,
    Procedure,
    ProcedureKind,
)
from pathways.models.tasks import (
    ActorKind,
    CallOutcome,
    FollowUpTask,
    PhaseTransition,
    TaskEvent,
    TaskPriority,
    TaskQuerySet,
    TaskState,
    TaskStatus,
)

__all__ = [
    "ActivePhaseCount",
    "ActorKind",
    "BOOLEAN_KINDS",
    "BOOLEAN_KINDS_SORTED",
    "NUMERIC_KINDS",
    "OpenTaskCount",
    "CallOutcome",
    "CloseReason",
    "CohortFacts",
    "Episode",
    "EpisodeFactModel",
    "EpisodeQuerySet",
    "EpisodeStatus",
    "Etiology",
    "FollowUpTask",
    "Imaging",
    "Modality",
    "NeuroStatus",
    "Observation",
    "ObservationKind",
    "Phase",
    "PhaseTransition",
    "Procedure",
    "ProcedureKind",
    "Programme",
    "ProgrammeStatus",
    "TaskEvent",
    "TaskPriority",
    "TaskQuerySet",
    "TaskState",
    "TaskStatus",
]
