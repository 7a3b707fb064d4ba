"""A realistic synthetic panel: clinics, staff, patients, episodes and facts.

Rows are inserted in bulk (stamped like any write) with ``next_review_at``
set, then the real sweep evaluates them, so the demo's tasks and phases come
from the same engine as production. Used by ``seed_demo`` and the benchmarks.

- ``staff``: the demo clinics and users (and their documented password);
- ``panel``: patients, programmes and episodes (``build_panel``);
- ``episode``: one episode and the facts recorded on it over time;
- ``rows``: the unsaved rows of a panel and their bulk insert (``save_rows``).
"""

from __future__ import annotations

from pathways.demo.episode import episode_levels
from pathways.demo.panel import FAMILY, GIVEN, build_panel
from pathways.demo.rows import Rows, save_rows
from pathways.demo.staff import CLINICS, DEMO_PASSWORD, ensure_clinics, ensure_staff

__all__ = [
    "CLINICS",
    "DEMO_PASSWORD",
    "FAMILY",
    "GIVEN",
    "Rows",
    "build_panel",
    "ensure_clinics",
    "ensure_staff",
    "episode_levels",
    "save_rows",
]
