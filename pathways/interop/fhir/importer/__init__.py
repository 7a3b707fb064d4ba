"""Import FHIR R4 bundles (Synthea's patient bundles and the like) into vcftrack.

What becomes what (docs/fhir.md has the codes), one module per kind:

- ``patients``: Patient -> patient (MRN from the ``MR`` identifier, else
  Synthea's id), with Patient.deceasedDateTime as the date of death (also
  filled in on a patient imported earlier without it). Only patients with an
  osteoporosis-related record are imported unless ``all_patients`` is set
  (``checks``): a fracture-liaison panel is not a copy of the EHR.
- ``episodes``: a vertebral fracture Condition -> an episode, *only when the
  record names the vertebral level(s)*; pain scores (LOINC 72514-3) within a
  year of an imported episode's onset -> pain observations on that episode.
- ``medications``: MedicationRequest / MedicationStatement of an
  anti-osteoporosis drug or calcitonin -> medications (``unverified`` when
  the latest evidence is over 12 months old).
- ``bone_density``: DXA Observations with a BMD value (g/cm2) -> bone-density
  scans, with the T-score of the same site and day.

Idempotent: every row's id is ``uuid5`` of the clinic and the FHIR resource it
came from, and a row that already exists (even deleted) is left alone, so
re-importing a file changes nothing. One transaction per bundle: a file that
fails leaves nothing behind. Dates after the import date are skipped.
"""

from __future__ import annotations

from pathways.interop.fhir.importer.bundle import import_bundle, import_paths
from pathways.interop.fhir.importer.reading import expand_paths, load_bundle
from pathways.interop.fhir.importer.report import BundleError, ImportReport

__all__ = [
    "BundleError",
    "ImportReport",
    "expand_paths",
    "import_bundle",
    "import_paths",
    "load_bundle",
]
