"""``python -m gpuledger.cli``: the same command line as ``gpuledger``."""

from __future__ import annotations

from gpuledger.cli.app import main

main()
