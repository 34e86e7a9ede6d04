"""The ``gpuledger`` command line: a thin shell over :mod:`gpuledger.services`.

Every command parses its options (``services.requests``), calls the same
functions the API and the web call, and renders the result as a Rich table for
people or as JSON (``--json``) for machines. User errors exit with code 2 and
one line on stderr; nothing is written. Heavy modules (the planner, the
forecast, the web stack) load only in the commands that use them, so
``gpuledger --help`` starts fast.
"""

from __future__ import annotations

from gpuledger.cli.app import app, main

__all__ = ["app", "main"]
