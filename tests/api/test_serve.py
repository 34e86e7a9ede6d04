"""Serving: the heap settled before the first request (issue 16)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import run


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """uvicorn.run replaced: notes how many objects the collector no longer walks."""
    frozen: list[int] = []

    def note(*args: object, **kwargs: object) -> None:
        frozen.append(gc.get_freeze_count())

    monkeypatch.setattr("uvicorn.run", note)
    gc.unfreeze()
    yield frozen
    gc.unfreeze()


def test_gpuledger_serve_freezes_what_it_loaded_before_serving(
    served: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The modules, the app and its routes live as long as the server: a full
    collection that walks them pauses every request in flight (70-90 ms in the mix)."""
    code, _, err = run(capsys, "--db", str(tmp_path / "books.db"), "serve", "--port", "8123")
    assert code == 0, err
    assert len(served) == 1
    assert served[0] > 50_000  # the process's objects, not a handful
