"""Row locks of a multi-row write, taken up front in the documented order.

Every writer takes its locks in one order (pathway-spec, and the sweep):
the patient (only to create a programme), the patient's programme, the
episodes, their tasks, and last the change counter. A write of one object
follows it naturally; a bulk write would not: after its first item it holds
the change counter, and the next item's ``schedule_reevaluation`` or task
lock would then wait on a row that another writer holds while that writer
waits for the counter (a deadlock, each a 500 under concurrent clients).

So a bulk write calls ``lock_rows`` first, in its transaction: every row
its items will lock, each kind in id order (two bulk writers over the same
rows then queue instead of crossing), before any item takes the counter.
Rows locked again later by the per-item services are already held.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from pathways.models import Episode, FollowUpTask, Programme
from patients.models import Patient


def lock_rows(
    *,
    patient_ids: Iterable[uuid.UUID] = (),
    episode_ids: Iterable[uuid.UUID] = (),
    task_ids: Iterable[uuid.UUID] = (),
    lock_patients: bool = False,
) -> None:
    """Lock (in the current transaction) the patients' rows (if asked), their
    programmes, the episodes (given and, for the patients given, all of
    theirs) and the tasks: each kind in id order, kinds in the lock order."""
    patients = set(patient_ids)
    episodes = set(episode_ids)
    tasks = set(task_ids)
    if tasks:
        for episode_id, patient_id in FollowUpTask.objects.filter(id__in=tasks).values_list(
            "episode_id", "patient_id"
        ):
            patients.add(patient_id)
            if episode_id is not None:
                episodes.add(episode_id)
    if episodes:
        patients.update(
            Episode.objects.filter(id__in=episodes).values_list("patient_id", flat=True)
        )
    if lock_patients and patients:
        _lock(Patient.objects.filter(id__in=patients))
    if patients:
        _lock(Programme.objects.filter(patient_id__in=patients))
        episodes.update(
            Episode.objects.filter(patient_id__in=patients).values_list("id", flat=True)
        )
    if episodes:
        _lock(Episode.objects.filter(id__in=episodes))
    if tasks:
        _lock(FollowUpTask.objects.filter(id__in=tasks))


def _lock(queryset: object) -> None:
    # ORDER BY id: two transactions locking overlapping sets queue on the
    # first shared row instead of each holding what the other wants.
    list(queryset.select_for_update().order_by("pk").values_list("pk", flat=True))  # type: ignore[attr-defined]
