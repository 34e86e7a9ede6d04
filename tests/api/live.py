"""A live API server process on loopback, for tests that need real concurrency or SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A uvicorn process serving the books at ``url``."""

    url: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    @classmethod
    def start(
        cls, url: str, timeout: float = 60.0, settings: dict[str, str] | None = None
    ) -> LiveServer:
        """``settings``: environment variables for the server (``GPULEDGER_...``)."""
        port = free_port()
        # This checkout's code first: an editable install may point at another one.
        env = {
            **os.environ,
            **(settings or {}),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.api._server", url, str(port)],
            cwd=ROOT,
            env=env,
        )
        server = cls(url, port, process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the API server exited with {process.returncode}")
            try:
                if httpx.get(f"{server.base}/openapi.json", timeout=1.0).status_code == 200:
                    return server
            except httpx.HTTPError:
                time.sleep(0.1)
        server.stop()
        raise RuntimeError("the API server did not start in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
