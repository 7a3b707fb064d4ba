"""REST resources of the patients app, one module per resource: clinics,
patients, and the patient-level facts (medications, bone density).
``vcftrack/api_urls.py`` routes them."""

from patients.api.clinics import ClinicViewSet
from patients.api.facts import BoneDensityViewSet, MedicationViewSet
from patients.api.patients import PatientViewSet

__all__ = ["BoneDensityViewSet", "ClinicViewSet", "MedicationViewSet", "PatientViewSet"]
