"""Access audit (``vcftrack.core.audit``): ``note`` what a request touched; the
middleware writes it. See docs/audit.md."""

from __future__ import annotations

from vcftrack.core.audit.trail import exempt, note

__all__ = ["exempt", "note"]
