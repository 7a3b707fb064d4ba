"""Rows of episodes, tasks, programmes and fact tables: one query per kind
for a whole batch (raw SQL with one array parameter on PostgreSQL, the ORM
elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection
from django.db.models import Exists, Model, OuterRef
from psycopg.abc import Loader
from psycopg.pq import Format
from psycopg.types.json import JsonbLoader

from pathways.models import (
    CohortFacts,
    Episode,
    FollowUpTask,
    Imaging,
    Observation,
    Procedure,
    TaskStatus,
)
from patients.models import BoneDensity, Medication
from vcftrack.core.pg import array_literal

EPISODE_COLUMNS = (
    "id",
    "patient_id",
    "clinic_id",
    "clinic__timezone",
    "levels_mask",
    "onset_date",
    "identified_date",
    "recorded_on",
    "etiology",
    "neuro_status",
    "status",
    "close_reason",
    "closed_at",
    "phase",
    "pathway_version",
    "flags",
    "version",
    "programme_id",
    "patient__deceased_date",
    "next_review_at",
    "sweep_failures",
    "sweep_error",
    # Whether the dashboard's stored facts hold a row for the episode as it
    # stands (pathways/dashboard/facts_table.py); read here, not asked after.
    "cohort_row",
)
# A task row is a plain tuple in this column order (no dict per row: the
# sweep reads tens of thousands). Closed tasks are loaded light: a closed
# task is only ever re-opened or moved to another closed status, and then
# every field comes from the engine; their schedule columns are NULL.
TASK_COLUMNS = (
    "id",
    "episode_id",
    "patient_id",
    # rule .. closed_on: an ExistingTask's fields, in its order.
    "rule",
    "occurrence",
    "status",
    "closed_by_person",
    "outcome",
    "closed_on",
    "snoozed_until",
    "version",
    # Open tasks only:
    "due_date",
    "grace_days",
    # JSON as its text on PostgreSQL (decoded only when compared unequal or
    # written back, see persist.same_triggers); the decoded list elsewhere.
    "triggers",
    "priority",
)
TaskRow = tuple[Any, ...]
(
    T_ID,
    T_EPISODE,
    T_PATIENT,
    T_RULE,
    T_OCCURRENCE,
    T_STATUS,
    T_BY_PERSON,
    T_OUTCOME,
    T_CLOSED_ON,
    T_SNOOZED,
    T_VERSION,
    T_DUE,
    T_GRACE,
    T_TRIGGERS,
    T_PRIORITY,
) = range(len(TASK_COLUMNS))
_CLOSED_PAD = (None,) * (len(TASK_COLUMNS) - T_DUE)


FACT_COLUMNS: dict[str, tuple[type[Model], str, tuple[str, ...]]] = {
    "observations": (
        Observation,
        "episode_id",
        ("id", "episode_id", "kind", "value_number", "value_bool", "effective_date"),
    ),
    "imaging": (
        Imaging,
        "episode_id",
        ("id", "episode_id", "modality", "performed_date", "contrast", "region", "edema"),
    ),
    "procedures": (
        Procedure,
        "episode_id",
        ("id", "episode_id", "kind", "performed_date", "level"),
    ),
    "medications": (
        Medication,
        "patient_id",
        ("id", "patient_id", "drug", "start_date", "stop_date", "unverified"),
    ),
    "bone_density": (
        BoneDensity,
        "patient_id",
        ("id", "patient_id", "performed_date", "site", "bmd_g_cm2", "t_score"),
    ),
}


# Ids stay text: building a UUID object per id value cost more than the
# rules (perf notes: 110-135 µs an episode), and ids are only keys here. The
# registered text loader is psycopg's C one where it is installed (a Python
# subclass of the pure-Python TextLoader cost a Python call per id value).
_text_loader = psycopg.adapters.get_loader(psycopg.adapters.types["text"].oid, Format.TEXT)
assert _text_loader is not None
_UuidAsText: type[Loader] = _text_loader


Query = tuple[str, list[Any]]


def id_array(ids: Sequence[Any]) -> str:
    """Ids as one PostgreSQL array literal for a ``%s::uuid[]`` parameter."""
    return array_literal(ids)


def _cursor(raw: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
    # A server-side-binding cursor: the arrays of ids travel as parameters,
    # not quoted into the statement text (Django's cursors bind client-side).
    cur = psycopg.Cursor(raw)
    cur.adapters.register_loader("uuid", _UuidAsText)
    # Django reads jsonb as text and decodes it itself; here psycopg does.
    cur.adapters.register_loader("jsonb", JsonbLoader)
    return cur


def _raw() -> psycopg.Connection[Any]:
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    return raw


def fetch_rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a raw PostgreSQL query on Django's connection (and so in its
    transaction), as tuples, uuid columns as text. Django's query wrappers
    (``django_assert_num_queries``, debug logging) do not see these."""
    with _cursor(_raw()) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def fetch_many(queries: Sequence[Query]) -> list[list[tuple[Any, ...]]]:
    """The rows of several independent queries, sent together in psycopg's
    pipeline mode: the server runs the later queries while this process
    turns the earlier ones' rows into tuples (one round trip in all)."""
    raw = _raw()
    cursors = [_cursor(raw) for _query in queries]
    try:
        with raw.pipeline():
            for cur, (sql, params) in zip(cursors, queries, strict=True):
                cur.execute(sql, params)
            return [cur.fetchall() for cur in cursors]
    finally:
        for cur in cursors:
            cur.close()


def fact_query(name: str, keys: list[str]) -> Query:
    model, key, columns = FACT_COLUMNS[name]
    return (
        f"SELECT {', '.join(columns)} FROM {model._meta.db_table} "  # noqa: S608 - model names
        f"WHERE {key} = ANY(%s::uuid[]) AND deleted_at IS NULL",
        [id_array(keys)],
    )


def fetch_fact_rows(name: str, keys: list[str]) -> list[tuple[Any, ...]]:
    """The alive rows of one fact table whose key is in ``keys``: one query."""
    model, key, columns = FACT_COLUMNS[name]
    if connection.vendor == "postgresql":
        return fetch_rows(*fact_query(name, keys))
    rows = model._default_manager.filter(**{f"{key}__in": keys, "deleted_at__isnull": True})
    return [(str(r[0]), str(r[1]), *r[2:]) for r in rows.values_list(*columns)]


def episode_query(episode_ids: list[str]) -> Query:
    return (
        "SELECT e.id, e.patient_id, e.clinic_id, c.timezone, e.levels_mask, e.onset_date, "
        "e.identified_date, e.recorded_on, e.etiology, e.neuro_status, e.status, "
        "e.close_reason, e.closed_at, e.phase, e.pathway_version, e.flags, e.version, "
        "e.programme_id, p.deceased_date, e.next_review_at, e.sweep_failures, e.sweep_error, "
        "EXISTS (SELECT 1 FROM pathways_cohortfacts f WHERE f.episode_id = e.id "
        "AND f.identified_date = e.identified_date) "
        "FROM pathways_episode e "
        "JOIN patients_clinic c ON c.id = e.clinic_id "
        "JOIN patients_patient p ON p.id = e.patient_id WHERE e.id = ANY(%s::uuid[])",
        [id_array(episode_ids)],
    )


def episode_dicts(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(EPISODE_COLUMNS, row, strict=True)) for row in rows]


def fetch_episode_rows(episode_ids: list[str]) -> list[dict[str, Any]]:
    if connection.vendor == "postgresql":
        return episode_dicts(fetch_rows(*episode_query(episode_ids)))
    current = CohortFacts.objects.filter(
        episode_id=OuterRef("pk"), identified_date=OuterRef("identified_date")
    )
    out = list(
        Episode.objects.filter(id__in=episode_ids)
        .annotate(cohort_row=Exists(current))
        .values(*EPISODE_COLUMNS)
    )
    for row in out:
        for name in ("id", "patient_id", "clinic_id", "programme_id"):
            if row[name] is not None:
                row[name] = str(row[name])
    return out


def task_query(key: str, keys: list[str]) -> Query:
    light = ", ".join(TASK_COLUMNS[:T_DUE])
    heavy = ", ".join(
        f"CASE WHEN status = 'open' THEN {c}{'::text' if c == 'triggers' else ''} END"
        for c in TASK_COLUMNS[T_DUE:]
    )
    return (
        f"SELECT {light}, {heavy} "  # noqa: S608 - fixed names
        f"FROM pathways_followuptask WHERE {key} = ANY(%s::uuid[])",
        [id_array(keys)],
    )


def fetch_task_rows(key: str, keys: list[str]) -> list[TaskRow]:
    """Task rows (TASK_COLUMNS) by episode (``key="episode_id"``) or every
    task of patients, their episodes' and their programmes'
    (``key="patient_id"``): one query. Closed tasks are loaded light (no
    schedule fields): a closed task is only ever re-opened or moved to
    another closed status, and then every field comes from the engine."""
    if connection.vendor == "postgresql":
        return fetch_rows(*task_query(key, keys))
    base = FollowUpTask.objects.filter(**{f"{key}__in": keys})
    out = list(base.filter(status=TaskStatus.OPEN).values_list(*TASK_COLUMNS))
    out += [
        (*values, *_CLOSED_PAD)
        for values in base.exclude(status=TaskStatus.OPEN).values_list(*TASK_COLUMNS[:T_DUE])
    ]
    return [(str(t[0]), None if t[1] is None else str(t[1]), str(t[2]), *t[T_RULE:]) for t in out]


def owner_query(patient_ids: list[str]) -> Query:
    return (
        "SELECT patient_id, id, identified_date, created_at FROM pathways_episode "
        "WHERE patient_id = ANY(%s::uuid[]) AND status = 'active' AND deleted_at IS NULL",
        [id_array(patient_ids)],
    )


def fetch_owner_rows(patient_ids: list[str]) -> list[tuple[Any, ...]]:
    if connection.vendor == "postgresql":
        return fetch_rows(*owner_query(patient_ids))
    return [
        (str(pat), str(eid), identified, created)
        for pat, eid, identified, created in Episode.objects.active()
        .filter(patient_id__in=patient_ids)
        .values_list("patient_id", "id", "identified_date", "created_at")
    ]


PROGRAMME_COLUMNS = (
    "id",
    "patient_id",
    "clinic_id",
    "clinic__timezone",
    "rule_set",
    "started_on",
    "status",
    "end_reason",
    "ended_at",
)


def programme_query(patient_ids: list[str]) -> Query:
    return (
        "SELECT p.id, p.patient_id, p.clinic_id, c.timezone, p.rule_set, p.started_on, "
        "p.status, p.end_reason, p.ended_at FROM pathways_programme p "
        "JOIN patients_clinic c ON c.id = p.clinic_id "
        "WHERE p.patient_id = ANY(%s::uuid[])",
        [id_array(patient_ids)],
    )


@dataclass
class PatientRows:
    """Every row an evaluation of whole patients reads: their episodes, the
    episodes' facts, the patients' drugs and DXAs, every task of the
    patients, the open episodes (who owns the v1 patient-level rules) and
    the programmes."""

    episodes: list[dict[str, Any]]
    facts: dict[str, list[tuple[Any, ...]]]
    tasks: list[TaskRow]
    owners: list[tuple[Any, ...]]
    programmes: list[tuple[Any, ...]]


def fetch_patient_rows(episode_ids: list[str], patient_ids: list[str]) -> PatientRows | None:
    """On PostgreSQL, the 9 reads of a batch of whole patients in one
    pipeline (``fetch_many``); ``None`` elsewhere (the loaders then read
    kind by kind)."""
    if connection.vendor != "postgresql":
        return None
    by_episode = ("observations", "imaging", "procedures")
    by_patient = ("medications", "bone_density")
    results = fetch_many(
        [
            episode_query(episode_ids),
            *(fact_query(name, episode_ids) for name in by_episode),
            *(fact_query(name, patient_ids) for name in by_patient),
            task_query("patient_id", patient_ids),
            owner_query(patient_ids),
            programme_query(patient_ids),
        ]
    )
    episodes, obs, imaging, procedures, meds, dxa, tasks, owners, programmes = results
    return PatientRows(
        episodes=episode_dicts(episodes),
        facts=dict(
            zip((*by_episode, *by_patient), (obs, imaging, procedures, meds, dxa), strict=True)
        ),
        tasks=tasks,
        owners=owners,
        programmes=programmes,
    )
