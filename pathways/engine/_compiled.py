"""The optional compiled engine: the same source, compiled with mypyc.

``python3 dev.py compile`` compiles the engine's modules into
``var/compiled-engine`` (never beside the sources) and records a SHA-256 of
every source file it compiled. When the package is imported, ``search_path``
puts that build ahead of the sources, but only if every recorded hash still
matches the source on disk: a build older than the code it was made from
would give advice the code no longer gives, so it is never used.

``VCFTRACK_ENGINE`` chooses:

- unset or ``auto``: the build if it is there and up to date, else the
  plain Python sources (the reference);
- ``python``: always the plain Python sources;
- ``compiled``: the build, and an error at import if it is missing or stale
  (CI uses this to test the build itself).

This module is not compiled, and imports only the standard library.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent
BUILD_DIR = SOURCE_ROOT / "var" / "compiled-engine"
MANIFEST = "manifest.json"
# Never compiled: the package's own __init__ (it chooses the path) and this file.
NOT_COMPILED = frozenset({"pathways/engine/__init__.py", "pathways/engine/_compiled.py"})


class CompiledEngineError(ImportError):
    pass


def engine_sources(root: Path = SOURCE_ROOT) -> list[str]:
    """The engine's modules that the build compiles, as paths from ``root``."""
    package = root / "pathways" / "engine"
    found = sorted(p.relative_to(root).as_posix() for p in package.rglob("*.py"))
    return [name for name in found if name not in NOT_COMPILED]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stale_reason(build: Path, root: Path = SOURCE_ROOT) -> str:
    """Why the build cannot be used ("" when it can)."""
    try:
        manifest = json.loads((build / MANIFEST).read_text())
    except FileNotFoundError:
        return f"no compiled engine in {build} (build it with: python3 dev.py compile)"
    except (OSError, ValueError) as exc:
        return f"unreadable manifest in {build}: {exc}"
    if manifest.get("python") != sys.implementation.cache_tag:
        return f"built for {manifest.get('python')}, this is {sys.implementation.cache_tag}"
    recorded: dict[str, str] = manifest.get("sources", {})
    current = engine_sources(root)
    if sorted(recorded) != current:
        return "the engine's modules changed since the build"
    for name in current:
        if recorded[name] != digest(root / name):
            return f"{name} changed since the build"
    return ""


def _load_runtime(build: Path) -> None:
    """Load the build's shared library (mypyc puts the compiled code of
    every module in one library, which each module's stub imports by a
    top-level name) without adding the build to ``sys.path``."""
    for lib in build.glob(f"*__mypyc{importlib.machinery.EXTENSION_SUFFIXES[0]}"):
        name = lib.name.split(".", 1)[0]
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, lib)
        if spec is None or spec.loader is None:
            raise CompiledEngineError(f"cannot load {lib}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module


def search_path(
    package_path: list[str], build: Path = BUILD_DIR, root: Path = SOURCE_ROOT
) -> list[str]:
    """The package's ``__path__``: the build first when it is to be used."""
    mode = os.environ.get("VCFTRACK_ENGINE", "auto").strip().lower() or "auto"
    if mode not in {"auto", "python", "compiled"}:
        raise CompiledEngineError(f"VCFTRACK_ENGINE must be auto, python or compiled, not {mode!r}")
    if mode == "python":
        return package_path
    reason = stale_reason(build, root)
    if not reason:
        try:
            _load_runtime(build)
        except (ImportError, OSError) as exc:
            reason = f"the compiled engine does not load: {exc}"
    if reason:
        if mode == "compiled":
            raise CompiledEngineError(f"VCFTRACK_ENGINE=compiled, but {reason}")
        if (build / MANIFEST).exists():
            logger.warning("using the plain Python engine: %s", reason)
        return package_path
    return [str(build / "pathways" / "engine"), *package_path]


def in_use() -> str:
    """``compiled`` or ``python``: which engine this process runs."""
    from pathways.engine import engine

    return "compiled" if Path(engine.__file__ or "").suffix != ".py" else "python"


def build(build: Path = BUILD_DIR, root: Path = SOURCE_ROOT) -> None:
    """Compile the engine into ``build`` (``python3 dev.py compile``).

    The sources are copied to a scratch folder, compiled there (mypyc writes
    its libraries beside what it compiles), and only the libraries and a
    manifest of the sources' hashes are kept.
    """
    import shutil
    import subprocess
    import tempfile

    sources = engine_sources(root)
    # Outside the repository: mypy would read the project's own settings
    # (and its Django plugin) from any folder inside it.
    scratch = Path(tempfile.mkdtemp(prefix="vcftrack-engine-"))
    shutil.rmtree(build, ignore_errors=True)
    # The compiled modules import the drug table; mypyc type-checks against it.
    support = [
        "pathways/__init__.py",
        "pathways/engine/__init__.py",
        "pathways/engine/_compiled.py",
        "patients/__init__.py",
        "patients/drugs.py",
    ]
    for name in [*sources, *support]:
        target = scratch / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, target)
    env = {**os.environ, "VCFTRACK_ENGINE": "python"}
    command = [sys.executable, "-m", "mypyc", *sources]
    subprocess.run(command, cwd=scratch, env=env, check=True)  # noqa: S603 - our own files
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for lib in scratch.rglob(f"*{suffix}"):
        relative = lib.relative_to(scratch)
        if relative.parts[0] == "build":
            continue
        (build / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lib, build / relative)
    manifest = {
        "python": sys.implementation.cache_tag,
        "sources": {name: digest(root / name) for name in sources},
    }
    (build / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"compiled engine: {len(sources)} modules in {build}")
