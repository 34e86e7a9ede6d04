"""Run the API under uvicorn on 127.0.0.1 for the reliability tests and the benchmark.

Usage: ``python -m tests.api._server DATABASE_URL PORT``. A real process, so a test
can kill it with SIGKILL.
"""

from __future__ import annotations

import sys

from gpuledger.server import create_app, serve


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    serve(create_app(url), "127.0.0.1", port, log_level="warning")


if __name__ == "__main__":
    main()
