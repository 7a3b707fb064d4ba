"""Writes of the pathways app. Views, serializers and tasks call these."""

from __future__ import annotations

from pathways.services.episodes import (
    episode_close,
    episode_create,
    episode_delete,
    episode_migrate_pathway,
    episode_update,
    programme_end,
)
from pathways.services.evaluation import (
    episode_evaluate,
    evaluate_batch,
    evaluate_patients,
    patient_evaluate,
    schedule_reevaluation,
)
from pathways.services.facts import fact_delete, fact_record, fact_update, fact_void
from pathways.services.sweep import SweepReport, pathway_sweep, pathway_sweep_helpers
from pathways.services.tasks import (
    task_assign,
    task_call,
    task_complete,
    task_not_applicable,
    task_reopen,
    task_snooze,
    task_undo,
)

__all__ = [
    "SweepReport",
    "episode_close",
    "episode_create",
    "episode_delete",
    "episode_evaluate",
    "episode_migrate_pathway",
    "episode_update",
    "evaluate_batch",
    "evaluate_patients",
    "fact_delete",
    "fact_record",
    "fact_update",
    "fact_void",
    "pathway_sweep",
    "pathway_sweep_helpers",
    "patient_evaluate",
    "programme_end",
    "schedule_reevaluation",
    "task_assign",
    "task_call",
    "task_complete",
    "task_not_applicable",
    "task_reopen",
    "task_snooze",
    "task_undo",
]
