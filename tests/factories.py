"""factory_boy factories. Clinical rows go through the services where the
engine must see them; these build the scaffolding around them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import factory
from django.contrib.auth import get_user_model

from patients.models import Clinic, Membership, Patient

if TYPE_CHECKING:
    from pathways.inputs.facts import FactInput
    from patients.inputs import BoneDensityValues, MedicationValues, PatientChanges

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"clinic{n}")
    name = factory.LazyAttribute(lambda o: f"Clinic {o.code}")
    timezone = "Europe/Berlin"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    role = "coordinator"


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = dt.date(1948, 5, 17)
    sex = "female"
    recorded_on = NOW.date()
    created_at = NOW
    updated_at = NOW
    change_seq = 0


def fact_values(kind: str, data: dict[str, object]) -> FactInput:
    """A fact's typed input, parsed as every door parses it (bad input raises)."""
    from pathways.inputs.facts import parse_fact
    from vcftrack.core.errors import FieldErrors

    found = FieldErrors()
    values = parse_fact(kind, data, found)
    found.raise_if_any()
    return values


def _parsed(parse: Any, *args: Any) -> Any:
    """A write's typed input, parsed as every door parses it (bad input raises)."""
    from vcftrack.core.errors import FieldErrors

    found = FieldErrors()
    values = parse(*args, found)
    found.raise_if_any()
    return values


def medication_values(data: dict[str, Any]) -> MedicationValues:
    from patients.inputs import parse_medication

    return _parsed(parse_medication, data)  # type: ignore[no-any-return]


def medication_change(medication: Any, data: dict[str, Any]) -> MedicationValues:
    from patients.inputs import parse_medication_change

    return _parsed(parse_medication_change, medication, data)  # type: ignore[no-any-return]


def dxa_values(data: dict[str, Any]) -> BoneDensityValues:
    from patients.inputs import parse_bone_density

    return _parsed(parse_bone_density, data)  # type: ignore[no-any-return]


def patient_changes(data: dict[str, Any]) -> PatientChanges:
    from patients.inputs import parse_patient_changes

    return _parsed(parse_patient_changes, data)  # type: ignore[no-any-return]
