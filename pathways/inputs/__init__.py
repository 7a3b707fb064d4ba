"""The one parser of each pathways write, shared by every door.

The REST API, the web forms and the FHIR importer hand a write's raw input
to the same parser here; it checks the shape once (types, formats, choices,
unknown fields), names each bad field in plain English, and gives the typed
keyword arguments of the service. The service checks what needs the
database or the clinic's date. ``tests/api/test_contract.py`` proves these
parsers and the OpenAPI schema (the API's input serializers) agree.
"""
