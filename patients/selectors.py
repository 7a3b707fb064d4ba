"""Reads of the patients app: scoping by clinic membership."""

from __future__ import annotations

import uuid
from typing import Any

from patients.models import Clinic, Membership, Patient, Role

WRITE_ROLES = frozenset({Role.COORDINATOR, Role.PHYSICIAN})


def clinic_ids_for(user: Any) -> list[uuid.UUID]:
    if user is None or not user.is_authenticated:
        return []
    cached = getattr(user, "_vcftrack_clinic_ids", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).values_list("clinic_id", flat=True))
        user._vcftrack_clinic_ids = cached
    return list(cached)


def roles_for(user: Any) -> dict[uuid.UUID, str]:
    if user is None or not user.is_authenticated:
        return {}
    cached = getattr(user, "_vcftrack_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("clinic_id", "role"))
        user._vcftrack_roles = cached
    return dict(cached)


def role_in(user: Any, clinic_id: uuid.UUID) -> str | None:
    return roles_for(user).get(clinic_id)


def can_write(user: Any, clinic_id: uuid.UUID) -> bool:
    return role_in(user, clinic_id) in WRITE_ROLES


def clinics_for(user: Any) -> list[Clinic]:
    return list(Clinic.objects.filter(id__in=clinic_ids_for(user)))


def patients_for(user: Any) -> Any:
    return Patient.objects.alive().filter(clinic_id__in=clinic_ids_for(user))
