"""Reads of the pathways app for the web app: the worklist, a patient's
timeline, the dashboard lists.

Every function here runs a fixed number of queries whatever the panel size:
lists are paginated in SQL, counts are aggregated in SQL, and related rows
are fetched with ``select_related`` or one ``IN`` query per kind.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from pathways.engine import Evaluation, TaskSpec, evaluate, evaluate_programme, get_ruleset
from pathways.levels import mask_to_levels
from pathways.models import (
    Episode,
    FollowUpTask,
    Imaging,
    Observation,
    PhaseTransition,
    Procedure,
    Programme,
    TaskPriority,
    TaskState,
    TaskStatus,
)
from pathways.services.evaluation import load_facts, load_programmes
from patients.models import BoneDensity, Medication, Membership, Patient
from vcftrack.core.labels import label

UPCOMING_DAYS = 14
PAGE_SIZE = 50
MAX_CSV_ROWS = 50_000

# Group order on the worklist: what needs doing first comes first.
GROUPS = (
    (TaskState.OVERDUE, "Overdue"),
    # The spec's "due" runs from the due date to the end of the grace period:
    # a task due three days ago with a week's grace is due, not "due today".
    (TaskState.DUE, "Due now (within grace)"),
    (TaskState.UPCOMING, f"Upcoming (next {UPCOMING_DAYS} days)"),
)
GROUP_RANK = {state: rank for rank, (state, _label) in enumerate(GROUPS)}
PRIORITY_RANK = {TaskPriority.URGENT: 0, TaskPriority.HIGH: 1, TaskPriority.ROUTINE: 2}
SORTS = {
    # "due" and "-due" are ordered per group (see _ordered).
    "due": ("due_date",),
    "-due": ("-due_date",),
    # The default: urgent, then high, then routine; within each, most overdue first.
    "priority": ("priority_rank", "overdue_from", "due_date"),
    "patient": ("patient__family_name", "patient__given_name", "due_date"),
    "rule": ("title", "due_date"),
    "assignee": ("assignee__username", "due_date"),
}


# ---------------------------------------------------------------- worklist --
@dataclass(frozen=True)
class WorklistQuery:
    clinic_ids: list[uuid.UUID]
    # Each clinic's date: a task's state depends on its clinic's calendar.
    todays: dict[uuid.UUID, date]
    user_id: int | None = None
    rule: str = ""
    priority: str = ""
    # "" any, "none" unassigned, or a user id.
    assignee: str = ""
    mine: bool = False
    state: str = ""
    q: str = ""
    sort: str = "priority"
    page: int = 1
    # "patient": one row per patient, their tasks inside it.
    group: str = ""


@dataclass
class WorklistRow:
    task: FollowUpTask
    state: str
    days_overdue: int
    levels: list[str]
    # Outcomes a decision task is closed with; people it can be assigned to.
    outcomes: tuple[str, ...] = ()
    assignees: list[Any] = field(default_factory=list)
    # A task a recorded result closes: the inline form that records it
    # (dxa, medication, imaging, pain, neuro) and the rule's words for it.
    result_form: str = ""
    completes_by: str = ""
    # Days since the due date while in grace (0: due today).
    days_since_due: int = 0

    @property
    def physicians(self) -> list[Any]:
        return [u for u in self.assignees if getattr(u, "clinic_role", "") == "physician"]

    @property
    def one_click(self) -> bool:
        """Done needs nothing more: no outcome to choose, no result to record."""
        return not self.outcomes and not self.completes_by


@dataclass
class PatientBundle:
    """One patient's rows of a page (the "one row per patient" view)."""

    patient: Any
    rows: list[WorklistRow]


@dataclass
class WorklistPage:
    rows: list[WorklistRow]
    counts: dict[str, int]
    total: int
    page: int
    pages: int
    groups: list[tuple[str, str, list[WorklistRow]]] = field(default_factory=list)
    # With "one row per patient": each group's patients, each at the place
    # of their most pressing task, with their other tasks of the page.
    bundles: list[tuple[str, str, list[PatientBundle]]] = field(default_factory=list)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _per_clinic(clinic_ids: Iterable[uuid.UUID], todays: dict[uuid.UUID, date], build: Any) -> Q:
    q = Q(pk__in=[])
    for cid in clinic_ids:
        q |= Q(clinic_id=cid) & build(todays[cid])
    return q


def _snooze_ok(day: date) -> Q:
    return Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=day)


def _overdue(today: date) -> Q:
    # overdue_from already carries the grace and any snooze (see the model).
    return Q(overdue_from__lte=today)


def _due(today: date) -> Q:
    return Q(overdue_from__gt=today, due_date__lte=today) & _snooze_ok(today)


def _upcoming(today: date) -> Q:
    # Not yet due (due date or snooze ahead), but within the next 14 days.
    horizon = today + timedelta(days=UPCOMING_DAYS)
    return (
        Q(overdue_from__gt=today, due_date__lte=horizon)
        & _snooze_ok(horizon)
        & (Q(due_date__gt=today) | Q(snoozed_until__gt=today))
    )


STATE_Q: dict[str, Callable[[date], Q]] = {
    TaskState.OVERDUE: _overdue,
    TaskState.DUE: _due,
    TaskState.UPCOMING: _upcoming,
}


def _clinic_ids(query: WorklistQuery) -> list[uuid.UUID]:
    return [c for c in query.clinic_ids if c in query.todays]


def _group_q(state: str, query: WorklistQuery) -> Q:
    return _per_clinic(_clinic_ids(query), query.todays, STATE_Q[state])


def worklist_queryset(query: WorklistQuery) -> QuerySet[FollowUpTask]:
    """Open tasks of the clinics with the person's filters; groups come on top.

    No join to the episode: deleting an episode cancels its open tasks.
    """
    qs = FollowUpTask.objects.open().filter(clinic_id__in=_clinic_ids(query))
    if query.rule:
        qs = qs.filter(rule=query.rule)
    if query.priority:
        qs = qs.filter(priority=query.priority)
    if query.mine and query.user_id is not None:
        qs = qs.filter(assignee_id=query.user_id)
    elif query.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif query.assignee.isdigit():
        qs = qs.filter(assignee_id=int(query.assignee))
    tokens = query.q.split()[:4]
    if tokens:
        # Find the clinic's matching patients first (a scan of one clinic's
        # patients), then their episodes' tasks by index: no join of every
        # open task to its patient.
        patients = Patient.objects.alive().filter(clinic_id__in=_clinic_ids(query))
        for token in tokens:
            patients = patients.filter(
                Q(family_name__icontains=token)
                | Q(given_name__icontains=token)
                | Q(mrn__iexact=token)
            )
        qs = qs.filter(patient_id__in=patients.values("id"))
    return qs


DEADLINE_SORTS = ("due", "-due")
DEADLINE_KEYS = ("overdue_from", "due_date", "id")


def _deadline_order(sort: str) -> list[str]:
    return [k if sort == "due" else f"-{k}" for k in DEADLINE_KEYS]


def _ordered(qs: QuerySet[FollowUpTask], state: str, sort: str) -> QuerySet[FollowUpTask]:
    """One group in the chosen order.

    The default is deadline order: by ``overdue_from`` (the effective due
    date plus grace), i.e. most overdue first. The worklist index (clinic,
    overdue_from, due_date) returns rows in that order, so a page of a clinic
    with tens of thousands of overdue tasks reads about 50 index entries; an
    ORDER BY due_date would tempt the planner into walking another index
    (due_date, ...) across every clinic.
    """
    if sort in DEADLINE_SORTS:
        return qs.order_by(*_deadline_order(sort))
    if sort == "priority":
        qs = qs.annotate(
            priority_rank=Case(
                *[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()],
                default=Value(3),
                output_field=IntegerField(),
            )
        )
    return qs.order_by(*SORTS.get(sort, SORTS["due"]), "id")


def worklist_counts(query: WorklistQuery) -> dict[str, int]:
    """Tasks per group with the current filters: one COUNT per group, each an
    index range scan (the overdue one index-only when no filter is set)."""
    base = worklist_queryset(query)
    return {state: base.filter(_group_q(state, query)).count() for state, _label in GROUPS}


# Rules a recorded result closes, and the inline form that records it.
RESULT_FORMS = {
    "bmd_dxa": "dxa",
    "calcitonin_start": "medication",
    "osteoporosis_rx_start": "medication",
    "calcium_vitamin_d": "medication",
    "denosumab_dose": "medication",
    "mri_initial": "imaging",
    "repeat_mri": "imaging",
    "malignancy_workup": "imaging",
    "pain_review_3w": "pain",
    "neuro_exam": "neuro",
}


def make_row(task: FollowUpTask, todays: dict[uuid.UUID, date]) -> WorklistRow:
    today = todays[task.clinic_id]
    state = task.state_on(today) or ""
    overdue_days = (today - task.effective_due).days if state == TaskState.OVERDUE else 0
    try:
        rule = get_ruleset(task.rule_set).get(task.rule)
        outcomes, completes_by = rule.outcomes, rule.completes_by
    except KeyError:
        outcomes, completes_by = (), ""
    # A task of the patient's programme has no fracture levels.
    levels = mask_to_levels(task.episode.levels_mask) if task.episode is not None else []
    return WorklistRow(
        task,
        state,
        overdue_days,
        levels,
        outcomes,
        result_form=RESULT_FORMS.get(task.rule, "") if completes_by and not outcomes else "",
        completes_by="" if outcomes else completes_by,
        days_since_due=(today - task.effective_due).days if state == TaskState.DUE else 0,
    )


def bundle_by_patient(
    groups: list[tuple[str, str, list[WorklistRow]]],
) -> list[tuple[str, str, list[PatientBundle]]]:
    """Each patient once, in the group and place of their first (most pressing) row."""
    seen: dict[uuid.UUID, PatientBundle] = {}
    out: list[tuple[str, str, list[PatientBundle]]] = []
    for state, title, rows in groups:
        bundles: list[PatientBundle] = []
        for row in rows:
            patient = row.task.patient
            if patient.id in seen:
                seen[patient.id].rows.append(row)
                continue
            seen[patient.id] = PatientBundle(patient, [row])
            bundles.append(seen[patient.id])
        if bundles:
            out.append((state, title, bundles))
    return out


def _states(query: WorklistQuery) -> list[str]:
    return [query.state] if query.state in GROUP_RANK else [s for s, _label in GROUPS]


def worklist_page(query: WorklistQuery, *, page_size: int = PAGE_SIZE) -> WorklistPage:
    """One page of the worklist, grouped, plus the group counts.

    1. Count each group (3 queries).
    2. For each group the page overlaps, read the ids of that slice in the
       group's order (1-3 narrow queries; usually 1).
    3. Read those rows with their episode, patient and assignee (1 query).
    """
    counts = worklist_counts(query)
    states = _states(query)
    total = sum(counts[s] for s in states)
    pages = max(1, -(-total // page_size))
    page = min(max(1, query.page), pages)
    start, end = (page - 1) * page_size, page * page_size
    base = worklist_queryset(query)
    ids: list[uuid.UUID] = []
    offset = 0
    for state in states:
        low, high = max(start, offset), min(end, offset + counts[state])
        if low < high:
            ids.extend(_slice_ids(base, state, query, low - offset, high - offset))
        offset += counts[state]
    by_id = {
        t.id: t
        for t in FollowUpTask.objects.filter(id__in=ids).select_related(
            "patient", "episode", "assignee"
        )
    }
    rows = [make_row(by_id[i], query.todays) for i in ids if i in by_id]
    groups: list[tuple[str, str, list[WorklistRow]]] = []
    for state, title in GROUPS:
        in_group = [r for r in rows if r.state == state]
        if in_group:
            groups.append((state, title, in_group))
    bundles = bundle_by_patient(groups) if query.group == "patient" else []
    return WorklistPage(rows, counts, total, page, pages, groups, bundles)


def _slice_ids(
    base: QuerySet[FollowUpTask], state: str, query: WorklistQuery, low: int, high: int
) -> list[uuid.UUID]:
    """The ids of rows ``low:high`` of one group, in the group's order.

    For several clinics in deadline order, each clinic's first ``high`` rows
    come from its own range of the worklist index and the union is merged:
    with ``clinic IN (...)`` the index orders no clinic's rows against
    another's, and PostgreSQL read and sorted every overdue task of ten
    clinics (0.5 s for 360,000) to show 50 of them.
    """
    clinics = _clinic_ids(query)
    if (
        len(clinics) > 1
        and query.sort in DEADLINE_SORTS
        and connection.features.supports_slicing_ordering_in_compound
    ):
        build = STATE_Q[state]
        parts = [
            _ordered(
                base.filter(Q(clinic_id=cid) & build(query.todays[cid])), state, query.sort
            ).values_list(*DEADLINE_KEYS)[:high]
            for cid in clinics
        ]
        merged = parts[0].union(*parts[1:], all=True).order_by(*_deadline_order(query.sort))
        return [row[-1] for row in merged[low:high]]
    group = _ordered(base.filter(_group_q(state, query)), state, query.sort)
    return list(group.values_list("id", flat=True)[low:high])


def worklist_export(query: WorklistQuery) -> Iterable[WorklistRow]:
    """Every row of the filtered worklist in page order, streamed (for CSV)."""
    base = worklist_queryset(query)
    left = MAX_CSV_ROWS
    for state in _states(query):
        group = _ordered(base.filter(_group_q(state, query)), state, query.sort)
        for task in group.select_related("patient", "episode", "assignee")[:left].iterator(
            chunk_size=2000
        ):
            left -= 1
            yield make_row(task, query.todays)
        if left <= 0:
            return


def task_row(task_id: uuid.UUID, clinic_ids: list[uuid.UUID]) -> FollowUpTask | None:
    return (
        FollowUpTask.objects.alive()
        .filter(id=task_id, clinic_id__in=clinic_ids)
        .select_related("patient", "episode", "clinic", "assignee", "closed_by")
        .first()
    )


def tasks_for_bulk(task_ids: list[uuid.UUID], clinic_ids: list[uuid.UUID]) -> list[FollowUpTask]:
    return list(
        FollowUpTask.objects.open()
        .filter(id__in=task_ids, clinic_id__in=clinic_ids)
        .select_related("clinic")
    )


def assignable_by_clinic(clinic_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    """Members who can act on tasks, per clinic (coordinators, physicians): one query."""
    out: dict[uuid.UUID, list[Any]] = {cid: [] for cid in clinic_ids}
    for m in (
        Membership.objects.filter(
            clinic_id__in=clinic_ids, role__in=["coordinator", "physician"], user__is_active=True
        )
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    ):
        # Per membership: the same person may hold another role elsewhere.
        m.user.clinic_role = m.role  # type: ignore[attr-defined]
        out[m.clinic_id].append(m.user)
    return out


def distinct_users(by_clinic: dict[uuid.UUID, list[Any]]) -> list[Any]:
    seen: dict[int, Any] = {}
    for users in by_clinic.values():
        for u in users:
            seen.setdefault(u.pk, u)
    return sorted(seen.values(), key=lambda u: (u.last_name, u.first_name, u.username))


def member_ids(clinic_id: uuid.UUID) -> set[int]:
    return set(Membership.objects.filter(clinic_id=clinic_id).values_list("user_id", flat=True))


def rule_choices(version: str = "v1") -> list[tuple[str, str]]:
    return sorted(((r.code, r.title) for r in get_ruleset(version).rules), key=lambda c: c[1])


def rule_outcomes(version: str = "v1") -> dict[str, tuple[str, ...]]:
    return {r.code: r.outcomes for r in get_ruleset(version).rules if r.outcomes}


# --------------------------------------------------------------- timeline --
@dataclass
class TimelineEntry:
    on: date
    kind: str  # fact | task | phase | projected
    category: str  # pain, imaging, dxa, medication, procedure, observation, task, phase
    title: str
    detail: str = ""
    status: str = ""
    episode_id: uuid.UUID | None = None
    episode_label: str = ""
    task: FollowUpTask | None = None
    # A recorded fact: its kind (observation, imaging, procedure, medication,
    # dxa) and id, so the person can void it from the timeline.
    fact_kind: str = ""
    fact_id: uuid.UUID | None = None

    @property
    def key(self) -> str:
        return f"{self.fact_kind}:{self.fact_id}" if self.fact_id else ""


@dataclass
class EpisodeView:
    episode: Episode
    levels: list[str]
    transitions: list[PhaseTransition]
    evaluation: Evaluation | None
    open_tasks: list[FollowUpTask]
    projected: list[tuple[TaskSpec, str]]
    observations: list[Observation]
    imaging: list[Imaging]
    procedures: list[Procedure]
    today: date
    open_rows: list[WorklistRow] = field(default_factory=list)
    closed_tasks: list[FollowUpTask] = field(default_factory=list)

    @property
    def closed_by_person(self) -> list[FollowUpTask]:
        """Tasks a person closed (done, not applicable): they can be reopened."""
        return [t for t in self.closed_tasks if t.closed_by_person]

    @property
    def day(self) -> int:
        """Days since identification (pathway-spec counts "day N" from it)."""
        return (self.today - self.episode.identified_date).days

    @property
    def label(self) -> str:
        return f"{'/'.join(self.levels)} · {self.episode.identified_date:%-d %b %Y}"


PROGRAMME_LABEL = "Bone-health programme"


@dataclass
class ProgrammeView:
    """The patient's bone-health programme (pathway-spec V2.1): its tasks are
    the patient's, shown once, not under each fracture."""

    programme: Programme
    open_tasks: list[FollowUpTask]
    projected: list[tuple[TaskSpec, str]]
    today: date
    # The first fracture's identification: what a clinician counts the
    # programme from (the row's started_on is when its record entered).
    since: date | None = None
    open_rows: list[WorklistRow] = field(default_factory=list)
    label: str = PROGRAMME_LABEL


@dataclass
class PatientRecord:
    patient: Patient
    today: date
    episodes: list[EpisodeView]
    medications: list[Medication]
    bone_density: list[BoneDensity]
    timeline: list[TimelineEntry]
    pain_series: dict[str, list[tuple[date, float]]]
    bmd_series: dict[str, list[tuple[date, float]]]
    bmd_changes: list[dict[str, Any]]
    programme: ProgrammeView | None = None

    @property
    def timeline_past(self) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.on <= self.today]

    @property
    def timeline_past_newest_first(self) -> list[TimelineEntry]:
        # Within a day the facts first (what was recorded), then the tasks
        # they closed, then the phase moves they caused.
        rank = {"fact": 0, "task": 1, "phase": 2, "projected": 3}
        return sorted(self.timeline_past[::-1], key=lambda e: (-e.on.toordinal(), rank[e.kind]))

    @property
    def bmd_rows(self) -> list[dict[str, Any]]:
        """The yearly changes, and each site's newest scan even when it came
        too soon after the one before for a yearly rate (the engine compares
        scans at least 6 months apart): the table never drops the newest."""
        rows = list(self.bmd_changes)
        for site in sorted({s.site for s in self.bone_density}):
            scans = [s for s in self.bone_density if s.site == site]
            newest = scans[-1]
            if len(scans) < 2 or any(
                r["site"] == site and r["to"] == newest.performed_date for r in rows
            ):
                continue
            before = scans[-2]
            rows.append(
                {
                    "site": site,
                    "from": before.performed_date,
                    "to": newest.performed_date,
                    "from_bmd": float(before.bmd_g_cm2),
                    "to_bmd": float(newest.bmd_g_cm2),
                    "pct_per_year": None,
                }
            )
        return sorted(rows, key=lambda r: (r["to"], r["site"]))

    @property
    def active_medications(self) -> list[Medication]:
        return [m for m in self.medications if m.stop_date is None or m.stop_date > self.today]

    @property
    def timeline_future(self) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.on > self.today]


def _fmt_obs(obs: Observation) -> str:
    text = label(obs.kind)
    value = obs.value
    if obs.kind == "neuro_deficit":
        return f"Neurological exam: {'deficit found' if value else 'intact'}"
    if isinstance(value, bool):
        return f"{text}: {'yes' if value else 'no'}"
    if obs.kind == "pain_nrs":
        return f"Pain score {value:g}/10"
    if obs.kind.endswith("_pct"):
        return f"{text.removesuffix(' (%)')} {value:g} %"
    return f"{text} {value:g}"


def patient_record(patient: Patient, *, today: date) -> PatientRecord:
    """A patient's episodes, facts, tasks and projected plan (fixed query count).

    The projected tasks come from the pure engine run on the loaded facts as
    of today, exactly as the sweep would see them.
    """
    episodes = list(Episode.objects.alive().filter(patient=patient).order_by("-identified_date"))
    ids = [e.id for e in episodes]
    by_id = {e.id: e for e in episodes}
    for e in episodes:
        e.patient = patient
    transitions: dict[uuid.UUID, list[PhaseTransition]] = defaultdict(list)
    for t in PhaseTransition.objects.filter(episode_id__in=ids).select_related("actor"):
        transitions[t.episode_id].append(t)
    tasks: dict[uuid.UUID | None, list[FollowUpTask]] = defaultdict(list)
    for task in (
        FollowUpTask.objects.alive()
        .filter(patient=patient)
        .select_related("closed_by", "assignee")
        .order_by("due_date", "rule")
    ):
        # Already loaded: no query per row. Programme tasks have no episode.
        task.patient = patient
        if task.episode_id is not None:
            task.episode = by_id.get(task.episode_id)  # type: ignore[assignment]
            if task.episode is None:
                continue
        tasks[task.episode_id].append(task)
    obs: dict[uuid.UUID, list[Observation]] = defaultdict(list)
    for o in Observation.objects.alive().filter(episode_id__in=ids):
        obs[o.episode_id].append(o)
    img: dict[uuid.UUID, list[Imaging]] = defaultdict(list)
    for i in Imaging.objects.alive().filter(episode_id__in=ids):
        img[i.episode_id].append(i)
    procs: dict[uuid.UUID, list[Procedure]] = defaultdict(list)
    for p in Procedure.objects.alive().filter(episode_id__in=ids):
        procs[p.episode_id].append(p)
    meds = list(Medication.objects.alive().filter(patient=patient).order_by("start_date"))
    scans = list(BoneDensity.objects.alive().filter(patient=patient).order_by("performed_date"))
    loaded = load_facts(ids) if ids else {}
    programmes = load_programmes([patient.id])

    views: list[EpisodeView] = []
    timeline: list[TimelineEntry] = []
    bmd_changes: list[dict[str, Any]] = []
    pain: dict[str, list[tuple[date, float]]] = {}
    for ep in episodes:
        levels = mask_to_levels(ep.levels_mask)
        item = loaded.get(str(ep.id))
        evaluation = None
        projected: list[tuple[TaskSpec, str]] = []
        if item is not None:
            ruleset = get_ruleset(ep.pathway_version)
            evaluation = evaluate(item.facts, today, ruleset)
            projected = [(s, ruleset.get(s.rule).title) for s in evaluation.projected]
            if not bmd_changes:
                bmd_changes = list(evaluation.derived.get("bmd_changes", []))  # type: ignore[call-overload]
        view = EpisodeView(
            episode=ep,
            levels=levels,
            transitions=transitions.get(ep.id, []),
            evaluation=evaluation,
            open_tasks=[t for t in tasks.get(ep.id, []) if t.status == TaskStatus.OPEN],
            closed_tasks=[t for t in tasks.get(ep.id, []) if t.status != TaskStatus.OPEN],
            projected=projected,
            observations=obs.get(ep.id, []),
            imaging=img.get(ep.id, []),
            procedures=procs.get(ep.id, []),
            today=today,
        )
        views.append(view)
        ep_label = view.label
        for o in view.observations:
            category = "pain" if o.kind == "pain_nrs" else "observation"
            timeline.append(
                TimelineEntry(
                    o.effective_date,
                    "fact",
                    category,
                    _fmt_obs(o),
                    episode_id=ep.id,
                    episode_label=ep_label,
                    fact_kind="observation",
                    fact_id=o.id,
                )
            )
        series = [
            (o.effective_date, float(o.value_number or 0))
            for o in view.observations
            if o.kind == "pain_nrs"
        ]
        if series:
            pain[ep_label] = sorted(series)
        for i in view.imaging:
            edema = {True: "edema", False: "no edema", None: "edema not reported"}[i.edema]
            timeline.append(
                TimelineEntry(
                    i.performed_date,
                    "fact",
                    "imaging",
                    f"{label(i.modality)} {i.region}",
                    f"{edema}{', with contrast' if i.contrast else ''}",
                    episode_id=ep.id,
                    episode_label=ep_label,
                    fact_kind="imaging",
                    fact_id=i.id,
                )
            )
        for p in view.procedures:
            timeline.append(
                TimelineEntry(
                    p.performed_date,
                    "fact",
                    "procedure",
                    label(p.kind),
                    p.level,
                    episode_id=ep.id,
                    episode_label=ep_label,
                    fact_kind="procedure",
                    fact_id=p.id,
                )
            )
        for t in view.transitions:
            timeline.append(
                TimelineEntry(
                    t.effective_date,
                    "phase",
                    "phase",
                    f"Phase: {(t.from_phase or 'new').replace('_', ' ')} → "
                    f"{t.to_phase.replace('_', ' ')}",
                    t.cause,
                    episode_id=ep.id,
                    episode_label=ep_label,
                )
            )
        for task in tasks.get(ep.id, []):
            timeline.append(_task_entry(task, today, ep_label, ep.id))
        for spec, title in projected:
            timeline.append(_projected_entry(spec, title, ep_label, ep.id))
    programme_view = None
    prog = programmes.get(str(patient.id))
    if prog is not None:
        ruleset = get_ruleset(prog.row["rule_set"])
        prog_eval = evaluate_programme(
            prog.facts([i.facts for i in loaded.values()]), today, ruleset
        )
        bmd_changes = list(prog_eval.derived.get("bmd_changes", bmd_changes))  # type: ignore[call-overload]
        prog_tasks = tasks.get(None, [])
        programme_view = ProgrammeView(
            programme=Programme(**{k: v for k, v in prog.row.items() if "__" not in k}),
            open_tasks=[t for t in prog_tasks if t.status == TaskStatus.OPEN],
            projected=[(s, ruleset.get(s.rule).title) for s in prog_eval.projected],
            today=today,
            since=prog_eval.phase_since if prog_eval.phase == "active" else None,
        )
        for task in prog_tasks:
            timeline.append(_task_entry(task, today, PROGRAMME_LABEL))
        for spec, title in programme_view.projected:
            timeline.append(_projected_entry(spec, title, PROGRAMME_LABEL))
    for m in meds:
        dose = " ".join(x for x in (m.dose, m.route) if x)
        timeline.append(
            TimelineEntry(
                m.start_date,
                "fact",
                "medication",
                f"Started {label(m.drug)}",
                dose,
                fact_kind="medication",
                fact_id=m.id,
            )
        )
        if m.stop_date:
            timeline.append(
                TimelineEntry(m.stop_date, "fact", "medication", f"Stopped {label(m.drug)}", dose)
            )
    bmd: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for s in scans:
        tscore = f", T-score {s.t_score}" if s.t_score is not None else ""
        timeline.append(
            TimelineEntry(
                s.performed_date,
                "fact",
                "dxa",
                f"DXA {label(s.site).lower()}: {s.bmd_g_cm2} g/cm²{tscore}",
                fact_kind="dxa",
                fact_id=s.id,
            )
        )
        bmd[s.site].append((s.performed_date, float(s.bmd_g_cm2)))
    order = {"phase": 0, "fact": 1, "task": 2, "projected": 3}
    timeline.sort(key=lambda e: (e.on, order[e.kind], e.title))
    return PatientRecord(
        patient=patient,
        today=today,
        episodes=views,
        medications=meds,
        bone_density=scans,
        timeline=timeline,
        pain_series=pain,
        bmd_series=dict(bmd),
        bmd_changes=bmd_changes,
        programme=programme_view,
    )


def _task_entry(
    task: FollowUpTask, today: date, where: str, episode_id: uuid.UUID | None = None
) -> TimelineEntry:
    on = task.closed_on if task.status != TaskStatus.OPEN and task.closed_on else task.due_date
    state = task.state_on(today) if task.status == TaskStatus.OPEN else task.status
    return TimelineEntry(
        on,
        "task",
        "task",
        task.title,
        label(task.outcome) or task.reason or task.note,
        status=state or "",
        episode_id=episode_id,
        episode_label=where,
        task=task,
    )


def _projected_entry(
    spec: TaskSpec, title: str, where: str, episode_id: uuid.UUID | None = None
) -> TimelineEntry:
    return TimelineEntry(
        spec.due_date,
        "projected",
        "task",
        title,
        f"expected; raised {spec.lead_days} days ahead",
        status="projected",
        episode_id=episode_id,
        episode_label=where,
    )


def episode_snapshot(episode_ids: list[uuid.UUID]) -> dict[str, Any]:
    """Phases and task statuses, to tell a person what a write changed."""
    phases = dict(Episode.objects.filter(id__in=episode_ids).values_list("id", "phase"))
    tasks = {
        (eid, rule, occ): (status, title)
        for eid, rule, occ, status, title in FollowUpTask.objects.alive()
        .filter(episode_id__in=episode_ids)
        .values_list("episode_id", "rule", "occurrence", "status", "title")
    }
    return {"phases": phases, "tasks": tasks}


def describe_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Plain sentences: phases moved, tasks raised, tasks closed or reopened."""
    out: list[str] = []
    for eid, phase in after["phases"].items():
        old = before["phases"].get(eid)
        if old and old != phase:
            out.append(f"Phase moved from {old.replace('_', ' ')} to {phase.replace('_', ' ')}.")
    for key, (status, title) in sorted(after["tasks"].items(), key=lambda kv: kv[1][1]):
        old = before["tasks"].get(key)
        if old is None:
            if status == TaskStatus.OPEN:
                out.append(f"New task: {title}.")
            else:
                out.append(f"Task recorded as {status.replace('_', ' ')}: {title}.")
        elif old[0] != status:
            if status == TaskStatus.OPEN:
                out.append(f"Task reopened: {title}.")
            else:
                out.append(f"Task {status.replace('_', ' ')}: {title}.")
    return out
