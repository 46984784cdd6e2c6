"""Loopback servers for the ecosystem tests: a real `mlflow server` and a static file server for Kedro-Viz."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

LOOPBACK = "127.0.0.1"
SERVER_START_TIMEOUT_S = 120.0


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_until_healthy(
    url: str, process: subprocess.Popen, log_path: Path, timeout_s: float = SERVER_START_TIMEOUT_S
) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it dies or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(urllib.error.URLError, OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s:\n{log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def mlflow_server(root: Path, port: int | None = None) -> Iterator[tuple[str, Path]]:
    """A team-style MLflow server on loopback: SQLite backend, artifacts uploaded through the server.

    Yields the tracking URI and the server-side artifact folder. The same ``root`` and ``port`` again restart the
    same server (its runs are kept in ``root``).
    """
    root.mkdir(parents=True, exist_ok=True)
    artifacts = root / "server_artifacts"
    port = port or free_port()
    log_path = root / f"mlflow_server_{time.time_ns()}.log"
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'server.db'}",
        "--artifacts-destination",
        str(artifacts),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # The server's job runner (six huey consumers) serves MLflow's GenAI jobs, none of which these tests use: off, it
    # starts faster and leaves the 2 cores to the run under test.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    uri = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_healthy(f"{uri}/health", process, log_path)
        yield uri, artifacts
    finally:
        # `mlflow server` runs uvicorn and a job runner as children: stop its whole (own) process group.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


@contextlib.contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over http on a loopback port (in a thread) and yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
