"""A Rich progress bar as a forecast progress hook (optional: Rich loads lazily).

The forecast only calls a ``Progress`` hook ``(done, total)``; the CLI wraps it
in a bar with :func:`rich_progress`, tests and the API pass nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gpuledger.forecast.engine import Progress

__all__ = ["rich_progress"]


@contextmanager
def rich_progress(description: str = "forecast", console: Any = None) -> Iterator[Progress]:
    """A Rich bar counting samples; yields the hook to pass as ``progress=``.

    Args:
        description: the bar's label.
        console: a ``rich.console.Console`` (e.g. to stderr); Rich's default if None.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=None)

        def hook(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield hook
