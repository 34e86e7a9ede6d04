"""Where the books live: one rule for the CLI, the API and the tests.

Order of precedence: an explicit ``--db PATH`` (SQLite file), then
``GPULEDGER_DATABASE_URL`` (any SQLAlchemy URL, e.g. PostgreSQL), then
``GPULEDGER_DB`` (SQLite file), then ``./gpuledger.db``. What a server allows
(request sizes, forecast work, failed sign-ins) is :class:`ServerSettings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = "gpuledger.db"
#: Reads, and writes, one server works on at once (``ServerSettings.requests_at_once``).
REQUESTS_AT_ONCE = 1


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path).expanduser()}"


def database_url(db: str | Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """Resolve the database URL from an explicit path, then the environment.

    Args:
        db: a SQLite file path given on the command line; wins when set.
        env: the environment to read (``os.environ`` when None).
    """
    env = os.environ if env is None else env
    if db is not None:
        return sqlite_url(db)
    if url := env.get("GPULEDGER_DATABASE_URL"):
        return url
    return sqlite_url(env.get("GPULEDGER_DB") or DEFAULT_DB)


# --------------------------------------------------------------------------- server


@dataclass(frozen=True)
class ServerSettings:
    """What one server allows one request and all of them together (``gpuledger serve``).

    Every value has an environment variable (``from_env``); the defaults suit the
    founding story's books on a small machine.

    Attributes:
        request_max_bytes: the largest request body, scenario imports aside
            (``GPULEDGER_REQUEST_MAX_BYTES``); larger ones are 413 before parsing.
        scenario_max_bytes: the largest ``POST /api/v1/scenario`` body
            (``GPULEDGER_SCENARIO_MAX_BYTES``).
        forecast_budget: forecast work running at once, in samples x lots
            (``GPULEDGER_FORECAST_BUDGET``); a forecast that would go beyond it is
            429 with Retry-After, never queued. One forecast alone always runs.
        auth_failures: failed token checks allowed per token id and per client
            address in ``auth_window_seconds`` (``GPULEDGER_AUTH_FAILURES``); more
            are 429 before any hash is computed.
        auth_window_seconds: the window of ``auth_failures``
            (``GPULEDGER_AUTH_WINDOW_SECONDS``).
        auth_concurrent: checks of tokens not yet verified (each may run argon2,
            64 MiB and a core's time) running at once (``GPULEDGER_AUTH_CONCURRENT``);
            more are 429. Tokens verified before never wait for these.
        refusal_delay_ms: how long a 429 is held back from a client that asks
            again before its Retry-After has passed (``GPULEDGER_REFUSAL_DELAY_MS``);
            clients that wait as told are answered at once; 0 never holds one.
        forecast_processes: worker processes that run the server's forecasts
            (``GPULEDGER_FORECAST_PROCESSES``), started and stopped with the server
            at a lower priority, so its requests keep the cores; 0 runs forecasts
            in the server's own process.
        requests_at_once: reads the server works on at once, and writes, each in
            a line of its own (``GPULEDGER_REQUESTS_AT_ONCE``); the others wait their
            turn, first come first served (``api.gate.AtOnce``). Forecasts do not
            count: the API's run in the worker processes, the dashboard's forecast
            pages pass the lines. 0 works on every request at once.
    """

    request_max_bytes: int = 1024 * 1024
    scenario_max_bytes: int = 64 * 1024 * 1024
    forecast_budget: int = 2 * 20_000 * 64
    auth_failures: int = 10
    auth_window_seconds: int = 60
    auth_concurrent: int = 2
    forecast_processes: int = 2
    refusal_delay_ms: int = 500
    requests_at_once: int = REQUESTS_AT_ONCE

    def __post_init__(self) -> None:
        for name in _SETTINGS:
            value, low = getattr(self, name), _LOWEST.get(name, 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number of {low} or more, not {value!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        """The settings of ``GPULEDGER_*`` variables, defaults for the ones unset."""
        env = os.environ if env is None else env
        given: dict[str, int] = {}
        for name in _SETTINGS:
            text = env.get(f"GPULEDGER_{name.upper()}")
            if text:
                try:
                    given[name] = int(text)
                except ValueError:
                    raise ValueError(
                        f"GPULEDGER_{name.upper()} must be a whole number, not {text!r}"
                    ) from None
        return cls(**given)


_SETTINGS = (
    "request_max_bytes",
    "scenario_max_bytes",
    "forecast_budget",
    "auth_failures",
    "auth_window_seconds",
    "auth_concurrent",
    "forecast_processes",
    "refusal_delay_ms",
    "requests_at_once",
)
#: The settings that may be lower than 1 (every other one is at least 1).
_LOWEST = {"forecast_processes": 0, "refusal_delay_ms": 0, "requests_at_once": 0}
