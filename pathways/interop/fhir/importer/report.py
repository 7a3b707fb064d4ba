"""What an import did: per kind of row, how many were created or already
there, and every item skipped, with the reason."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


class BundleError(Exception):
    """The file cannot be imported at all (unreadable, not JSON, not a Bundle)."""


def _counts() -> defaultdict[str, int]:
    return defaultdict(int)


@dataclass
class ImportReport:
    files: int = 0
    created: dict[str, int] = field(default_factory=_counts)
    unchanged: dict[str, int] = field(default_factory=_counts)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    KINDS = (
        "patients",
        "dates of death",
        "episodes",
        "medications",
        "bone-density scans",
        "observations",
    )

    def summary_lines(self) -> list[str]:
        lines = [f"{self.files} file(s) read"]
        for kind in self.KINDS:
            lines.append(
                f"{kind}: {self.created.get(kind, 0)} created, "
                f"{self.unchanged.get(kind, 0)} already imported (unchanged)"
            )
        lines.append(f"skipped: {len(self.skipped)}; files with errors: {len(self.errors)}")
        return lines

    def add(self, done: BundleResult) -> None:
        """Count in one file's work (only once its transaction has committed)."""
        for kind, count in done.created.items():
            self.created[kind] += count
        for kind, count in done.unchanged.items():
            self.unchanged[kind] += count
        self.skipped.extend(done.skipped)


@dataclass
class BundleResult:
    """One file's work, kept apart so a failed file adds nothing to the report."""

    name: str
    created: dict[str, int] = field(default_factory=_counts)
    unchanged: dict[str, int] = field(default_factory=_counts)
    skipped: list[str] = field(default_factory=list)

    def skip(self, message: str) -> None:
        self.skipped.append(f"{self.name}: {message}")
