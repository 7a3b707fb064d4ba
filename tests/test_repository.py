"""The repository stands alone: nothing in it reads or cites files outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A path into the project's old sibling folder (../shared/pathway-spec.md,
# shared/seeds/..., shared/data/synthea): the repository carries its own copies
# in docs/ and tests/data/. Citing a seed by number ("seed 002") is fine.
OUTSIDE = re.compile(r"(\.\./)?\bshared/(pathway-spec|design|house-style|perf-notes|seeds|data)")
TEXT = {".py", ".md", ".toml", ".txt", ".html", ".yaml", ".yml", ".json", ".cfg", ".ini", ""}


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode == 0 and out.stdout:
        names = [n for n in out.stdout.split("\0") if n]
    else:  # an exported tree without .git
        names = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not {".venv", "node_modules", ".git", "var"} & set(p.parts)
        ]
    return [ROOT / n for n in names if Path(n).suffix in TEXT and not n.startswith("docs/seeds/")]


def test_nothing_points_outside_the_repository():
    this = Path(__file__).resolve()
    found = []
    for path in tracked_files():
        if path.resolve() == this or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [
            f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), 1)
            if OUTSIDE.search(line)
        ]
    assert not found, "\n".join(found)


def test_the_synthea_bundles_the_fhir_tests_use_are_in_the_repository():
    synthea = ROOT / "tests" / "data" / "synthea"
    bundles = sorted(synthea.glob("*.json"))
    assert len(bundles) == 5
    assert sum(p.stat().st_size for p in bundles) < 6_000_000
    used = (ROOT / "tests" / "interop" / "fhir" / "test_import.py").read_text(encoding="utf-8")
    assert '"data" / "synthea"' in used
    assert "pytest.skip" not in used
    assert "skipif" not in used


def test_the_embedded_default_passes_its_checks_without_warnings(tmp_path):
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["VCFTRACK_VAR_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-W", "error", "manage.py", "check", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr  # SQLite: no models.W040
    assert "W040" not in out.stdout + out.stderr


def test_whitenoise_starts_without_a_warning():
    import warnings

    from django.conf import settings
    from whitenoise.middleware import WhiteNoiseMiddleware

    assert Path(settings.STATIC_ROOT).is_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        WhiteNoiseMiddleware(get_response=lambda request: None)
