"""Run the API under uvicorn on 127.0.0.1 for the reliability tests and the benchmark.

Usage: ``python -m tests.api._server DATABASE_URL PORT``. A real process, so a test
can kill it with SIGKILL.
"""

from __future__ import annotations

import sys

import uvicorn

from gpuledger.server import create_app


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(create_app(url), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
