"""The physician dashboard: fracture-liaison (FLS) indicators and what is open.

- ``definitions``: the indicators, their targets and eligibility (declared once);
- ``cohort``: the period's cohort with its per-episode tests, eligibility as
  ``Q`` and as SQL, the drill-down;
- ``board``: every indicator month by month in one query, cached;
- ``workload``: overdue tasks by rule, phases, augmentation candidates;
- ``views``: the dashboard page and the drill-down (HTML and CSV).
"""
