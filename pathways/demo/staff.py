"""The demo clinics and their staff."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from patients.models import Clinic, Membership
from vcftrack.core.scoping import Role

CLINICS = (
    ("north", "North Spine & Bone Clinic", "Europe/Berlin"),
    ("south", "South Fracture Liaison Service", "Europe/Berlin"),
    ("east", "East Osteoporosis Centre", "Europe/London"),
)
DEMO_PASSWORD = "vcftrack-demo"  # noqa: S105 - documented demo credential


def ensure_clinics(count: int = 3) -> list[Clinic]:
    out = []
    for i in range(count):
        code, name, tz = CLINICS[i] if i < len(CLINICS) else (f"c{i}", f"Clinic {i}", "UTC")
        clinic, _ = Clinic.objects.get_or_create(code=code, defaults={"name": name, "timezone": tz})
        out.append(clinic)
    return out


def ensure_staff(clinics: list[Clinic]) -> dict[str, Any]:
    """Demo users: admin, and per clinic a coordinator, a physician and a viewer."""
    user_model = get_user_model()
    users: dict[str, Any] = {}
    # One hash for all the demo users (a password hash costs ~0.4 s by design).
    hashed = make_password(DEMO_PASSWORD)
    admin, _ = user_model.objects.get_or_create(
        username="admin",
        defaults={
            "is_staff": True,
            "is_superuser": True,
            "email": "admin@example.org",
            "password": hashed,
        },
    )
    users["admin"] = admin
    for clinic in clinics:
        for role, first in (
            (Role.COORDINATOR, "Cora"),
            (Role.PHYSICIAN, "Dr. Phil"),
            (Role.VIEWER, "Vic"),
        ):
            username = f"{role}-{clinic.code}"
            user, _ = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": clinic.code.capitalize(),
                    "email": f"{username}@example.org",
                    "password": hashed,
                },
            )
            Membership.objects.get_or_create(
                user=user,
                clinic=clinic,
                defaults={"role": role, "lead": role == Role.COORDINATOR},
            )
            users[username] = user
    return users
