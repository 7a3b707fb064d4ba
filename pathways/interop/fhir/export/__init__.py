"""FHIR R4 export: an episode as a ``collection`` Bundle (``episode_bundle``)."""

from __future__ import annotations

from pathways.interop.fhir.export.bundle import episode_bundle

__all__ = ["episode_bundle"]
