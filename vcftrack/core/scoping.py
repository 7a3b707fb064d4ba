"""Who may see and change what: clinic membership and roles.

Every read in vcftrack is scoped to the clinics the caller is a member of, and
only coordinators and physicians may change records (a viewer reads). This
module is the one place those rules live, below the apps: it reads the user's
memberships through the ``user.memberships`` relation that ``patients``
declares, so the API kit, the web shell and every app share one check without
the bottom layer importing an app.

The caches sit on the user object, so a request asks the database once.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, Protocol

from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Coordinator"
    PHYSICIAN = "physician", "Physician"
    VIEWER = "viewer", "Viewer"


# A viewer reads; coordinators and physicians change records.
WRITE_ROLES = frozenset({Role.COORDINATOR, Role.PHYSICIAN})


class ClinicLike(Protocol):
    """What the scope needs of a clinic (``patients.models.Clinic``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def timezone(self) -> str: ...


def may_write(role: str | None) -> bool:
    return role in WRITE_ROLES


def clinic_today(timezone: str, now: datetime) -> date:
    """The calendar date in a clinic's zone at the instant ``now``."""
    return now.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def remember_roles(user: Any, roles: dict[uuid.UUID, str]) -> None:
    """Prime the caches once the memberships are loaded some other way."""
    user._vcftrack_roles = dict(roles)
    user._vcftrack_clinic_ids = list(roles)


def roles_for(user: Any) -> dict[uuid.UUID, str]:
    if user is None or not user.is_authenticated:
        return {}
    cached = getattr(user, "_vcftrack_roles", None)
    if cached is None:
        remember_roles(user, dict(user.memberships.values_list("clinic_id", "role")))
        cached = user._vcftrack_roles
    return dict(cached)


def clinic_ids_for(user: Any) -> list[uuid.UUID]:
    if user is None or not user.is_authenticated:
        return []
    cached = getattr(user, "_vcftrack_clinic_ids", None)
    if cached is None:
        roles_for(user)
        cached = user._vcftrack_clinic_ids
    return list(cached)


def role_in(user: Any, clinic_id: uuid.UUID) -> str | None:
    return roles_for(user).get(clinic_id)


def can_write(user: Any, clinic_id: uuid.UUID) -> bool:
    return may_write(role_in(user, clinic_id))


def per_clinic_day(
    clinic_ids: Iterable[uuid.UUID], todays: dict[uuid.UUID, date], build: Callable[[date], Q]
) -> Q:
    """Rows of the given clinics, each tested against its own clinic's date:
    ``clinic_id = c AND build(todays[c])`` for each clinic, OR'ed (a filter
    that matches nothing when there is no clinic). Clinics may be in
    different zones, so "due by today" is a different date in each."""
    q = Q(pk__in=[])
    for cid in clinic_ids:
        q |= Q(clinic_id=cid) & build(todays[cid])
    return q
