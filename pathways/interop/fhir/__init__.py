"""FHIR R4 interchange: export an episode as a Bundle, import Synthea-style bundles."""

from __future__ import annotations
