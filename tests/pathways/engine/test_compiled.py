"""The optional compiled engine (``python3 dev.py compile``): used only when
it was built from the sources on disk, and it gives the same evaluations as
the plain Python engine, which stays the reference."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pathways.engine import _compiled

ROOT = Path(__file__).resolve().parents[3]

# Evaluates a mixed panel of both pathway versions at several dates and
# prints which engine ran and a digest of every evaluation.
DIGEST = """
import hashlib, random
from datetime import timedelta
from pathways.engine import _compiled, evaluate, evaluate_programme, get_ruleset
from tests.bench import engine as bench

rnd = random.Random(3)
kinds = [k for k, _w, _a in bench.MIX]
weights = [w for _k, w, _a in bench.MIX]
ages = {k: a for k, _w, a in bench.MIX}
raw = []
for n in range(240):
    kind = rnd.choices(kinds, weights)[0]
    raw.append(bench.build(kind, rnd.randint(*ages[kind]), rnd, n))
v1, v2 = get_ruleset("v1"), get_ruleset("v2")
h = hashlib.sha256()
for days in range(-60, 400, 90):
    day = bench.TODAY + timedelta(days=days)
    for n, facts in enumerate(raw):
        h.update(repr(evaluate(bench.steady_state(facts), day, v1)).encode())
        episode, programme = bench.as_patient(facts, n)
        h.update(repr(evaluate(episode, day, v2)).encode())
        h.update(repr(evaluate_programme(programme, day, v2)).encode())
print(_compiled.in_use(), h.hexdigest())
"""


def _fake_build(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the engine's sources and a build manifest that matches them."""
    root = tmp_path / "src"
    for name in _compiled.engine_sources(ROOT):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, root / name)
    build = tmp_path / "build"
    build.mkdir()
    manifest = {
        "python": sys.implementation.cache_tag,
        "sources": {n: _compiled.digest(root / n) for n in _compiled.engine_sources(root)},
    }
    (build / _compiled.MANIFEST).write_text(json.dumps(manifest))
    return root, build


def test_a_build_made_from_the_sources_on_disk_is_up_to_date(tmp_path: Path) -> None:
    root, build = _fake_build(tmp_path)
    assert _compiled.stale_reason(build, root) == ""


def test_a_build_older_than_an_edited_rule_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, build = _fake_build(tmp_path)
    rule = root / "pathways/engine/v2/acute.py"
    rule.write_text(rule.read_text() + "\n# a changed rule\n")
    assert (
        _compiled.stale_reason(build, root) == "pathways/engine/v2/acute.py changed since the build"
    )
    monkeypatch.delenv("VCFTRACK_ENGINE", raising=False)
    # auto: the plain sources; compiled: an error at import, not stale advice.
    assert _compiled.search_path(["src"], build, root) == ["src"]
    monkeypatch.setenv("VCFTRACK_ENGINE", "compiled")
    with pytest.raises(_compiled.CompiledEngineError, match="acute.py changed since the build"):
        _compiled.search_path(["src"], build, root)


def test_a_new_or_removed_module_makes_the_build_stale(tmp_path: Path) -> None:
    root, build = _fake_build(tmp_path)
    (root / "pathways/engine/v2/extra.py").write_text("X = 1\n")
    assert _compiled.stale_reason(build, root) == "the engine's modules changed since the build"


def test_no_build_means_the_plain_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VCFTRACK_ENGINE", raising=False)
    assert _compiled.search_path(["src"], tmp_path / "none") == ["src"]
    assert "python3 dev.py compile" in _compiled.stale_reason(tmp_path / "none")
    monkeypatch.setenv("VCFTRACK_ENGINE", "python")
    assert _compiled.search_path(["src"], tmp_path / "none") == ["src"]
    monkeypatch.setenv("VCFTRACK_ENGINE", "fast")
    with pytest.raises(_compiled.CompiledEngineError, match="auto, python or compiled"):
        _compiled.search_path(["src"], tmp_path / "none")


def _digest(mode: str) -> tuple[str, str]:
    env = {**os.environ, "VCFTRACK_ENGINE": mode, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", DIGEST], cwd=ROOT, env=env, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    engine, digest = done.stdout.split()
    return engine, digest


def test_the_compiled_engine_gives_the_same_evaluations_as_the_plain_one() -> None:
    reason = _compiled.stale_reason(_compiled.BUILD_DIR)
    if reason:
        # CI builds it (python3 dev.py compile) and sets VCFTRACK_REQUIRE_COMPILED.
        if os.environ.get("VCFTRACK_REQUIRE_COMPILED"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert _digest("compiled")[0] == "compiled"
    assert _digest("python")[0] == "python"
    assert _digest("compiled")[1] == _digest("python")[1]
