"""Interchange with other systems (FHIR R4 today)."""
