"""The bottom layer: settings helpers, errors, the API kit, clinic scoping, audit.

Everything here may be imported by every app; nothing here imports an app
(``patients``, ``pathways``, ``notifications``) — checked by import-linter
(see docs/architecture.md).
"""
