"""Shell completion works: the script, an install into $HOME, and completing a command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ENTRY = "from gpuledger.cli import main; main()"


def gpuledger(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``gpuledger ARGS`` in a subprocess whose $HOME is ``home``."""
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(home), **env},
    )


def test_show_completion_prints_the_bash_script(tmp_path: Path) -> None:
    done = gpuledger(
        tmp_path, "--show-completion", "bash", _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1"
    )
    assert done.returncode == 0, done.stderr
    assert "_GPULEDGER_COMPLETE=complete_bash" in done.stdout


def test_install_completion_writes_under_home_only(tmp_path: Path) -> None:
    # the shell is named rather than detected from the processes above the test
    detection = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    done = gpuledger(tmp_path, "--install-completion", "bash", **detection)
    assert done.returncode == 0, done.stderr
    script = tmp_path / ".bash_completions" / "gpuledger.sh"
    assert "_GPULEDGER_COMPLETE" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("gpuledger di", "divert"),
        ("gpuledger divert ", "propose"),
        ("gpuledger plan --pol", "--policy"),
    ],
    ids=["command", "subcommand", "option"],
)
def test_completing_a_word(tmp_path: Path, words: str, expected: str) -> None:
    done = gpuledger(
        tmp_path,
        _GPULEDGER_COMPLETE="complete_bash",
        COMP_WORDS=words,
        COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    )
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout.split()
