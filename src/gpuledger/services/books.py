"""The books themselves: opening them, balances, holdings, a lot's trace, import and export.

Where a command takes no date, the books' own "today" is used: the ``as_of``
of the last imported scenario (:func:`books_today`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpuledger.domain import HELD_BUCKETS, Balance, Bucket, Scenario, holdings_by_org
from gpuledger.domain.serialize import jsonable
from gpuledger.services.visibility import Visibility, consumer_orgs

if TYPE_CHECKING:
    from gpuledger.governance.rules import Access
    from gpuledger.governance.store import Governance
    from gpuledger.governance.tokens import TokenHasher
    from gpuledger.ledger import ImportReport, Ledger, LotTrace


def open_books(url: str, *, create: bool, clock: Callable[[], datetime]) -> Ledger:
    """The books at a SQLAlchemy URL; only ``create=True`` may bring new books into being.

    Every interface opens the books here. ``create`` is True for the commands
    that say they create the books (``init``, ``import``, ``demo``) and for a
    server started over an empty database. The ledger migrates the schema on
    open either way.
    """
    from gpuledger.ledger import Ledger

    return Ledger.open(url, clock=clock, create=create)


@dataclass
class Backend:
    """What a server shares between requests: the open books and their governance."""

    ledger: Ledger
    gov: Governance

    @classmethod
    def open(
        cls, url: str, *, clock: Callable[[], datetime], hasher: TokenHasher | None = None
    ) -> Backend:
        """Open the books at ``url`` (created if missing) with governance beside them."""
        from gpuledger.governance.store import Governance

        ledger = open_books(url, create=True, clock=clock)
        return cls(ledger, Governance(ledger.engine, clock, hasher))

    def close(self) -> None:
        """Release the books' connections."""
        self.ledger.close()


def books_today(ledger: Ledger) -> date:
    """The books' "today": the as_of of the last imported scenario."""
    return ledger.to_scenario().as_of


def scenario(ledger: Ledger) -> Scenario:
    """The books' latest records as a scenario (memoised by the ledger on its head)."""
    return ledger.to_scenario()


def visibility(ledger: Ledger, access: Access | None) -> Visibility:
    """What ``access`` sees of the books; None: the holder of the books, who sees everything."""
    books = ledger.to_scenario()
    return Visibility.everything(books) if access is None else Visibility.of(access, books)


@dataclass(frozen=True)
class BalancesReport:
    """Balances as of a date, as known on a date (None: everything the books know)."""

    as_of: date | None
    known_on: date | None
    balances: tuple[Balance, ...]

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract: ``{"as_of", "known_on", "balances": [...]}``."""
        data: dict[str, Any] = jsonable(self)
        return data


def balances_report(
    ledger: Ledger,
    as_of: date | None = None,
    known_on: date | None = None,
    seen: Visibility | None = None,
) -> BalancesReport:
    """Balances per account as of ``as_of``, as known on ``known_on``; ``seen``: only those."""
    rows = ledger.balances(as_of=as_of, known_on=known_on)
    return BalancesReport(as_of, known_on, tuple(rows if seen is None else seen.balances(rows)))


def holdings(
    ledger: Ledger,
    as_of: date | None = None,
    known_on: date | None = None,
    buckets: tuple[Bucket, ...] = HELD_BUCKETS,
) -> dict[tuple[str, str], int]:
    """Posted units per (org, SKU) in ``buckets`` as of / as known on (``holdings_by_org``)."""
    owners = consumer_orgs(ledger.to_scenario())
    return holdings_by_org(ledger.balances(as_of=as_of, known_on=known_on), owners, buckets)


def trace(
    ledger: Ledger,
    lot: str,
    as_of: date | None = None,
    known_on: date | None = None,
    seen: Visibility | None = None,
) -> LotTrace:
    """Where every unit of a lot went; ``seen``: UnknownRecord unless its consignee is visible."""
    if seen is not None:
        seen.require_lot(lot, ledger.to_scenario())
    return ledger.trace(lot, as_of=as_of, known_on=known_on)


def import_file(
    url: str, path: Path | str, *, actor: str, clock: Callable[[], datetime]
) -> ImportReport:
    """Read a scenario file and import it atomically into the books at ``url``.

    Books that exist and have users: ``actor`` must hold a role that can
    import before the file is read, and every record it changes is authorized
    (``governance.imports``). Books without users are their holder's. New
    books are created only once the file has been read without error, so a
    bad file leaves nothing behind.
    """
    from gpuledger.domain import BooksNotFound
    from gpuledger.scenario import load_scenario

    try:
        ledger = open_books(url, create=False, clock=clock)
    except BooksNotFound:
        scenario = load_scenario(path)  # every problem names the file and line first
        ledger = open_books(url, create=True, clock=clock)
        try:
            return ledger.import_scenario(scenario, actor=actor)
        finally:
            ledger.close()
    try:
        return import_into(ledger, path, actor=actor, clock=clock)
    finally:
        ledger.close()


def import_into(
    ledger: Ledger, path: Path | str, *, actor: str, clock: Callable[[], datetime]
) -> ImportReport:
    """Read a scenario file and import it atomically into books already open.

    The rule of :func:`import_file` for books that exist: with users, ``actor``
    must hold a role that can import before the file is read, and every record
    it changes is authorized.
    """
    from gpuledger.governance import service
    from gpuledger.scenario import load_scenario
    from gpuledger.services.diversions import books_governance

    gov = books_governance(ledger, clock)
    if gov is None:
        return ledger.import_scenario(load_scenario(path), actor=actor)
    service.require_importer(gov, actor)  # before the file is read
    return service.import_scenario(ledger, gov, actor, load_scenario(path))


def import_text(backend: Backend, user: str, text: str, filename: str) -> ImportReport:
    """Import an uploaded scenario as ``user`` (a server: governance always applies).

    The caller's roles are checked before the text is parsed.
    """
    from gpuledger.governance import service

    service.require_importer(backend.gov, user)
    return service.import_scenario(
        backend.ledger, backend.gov, user, read_scenario_text(text, filename)
    )


def read_scenario_text(text: str, filename: str) -> Scenario:
    """A scenario from YAML text (an upload); every problem is a ScenarioError."""
    import yaml

    from gpuledger.domain import ScenarioError
    from gpuledger.scenario import parse_scenario

    try:
        return parse_scenario(text, filename=filename)
    except yaml.YAMLError as exc:  # the reader refuses some characters before parsing
        raise ScenarioError(f"not YAML: {exc}", file=filename) from exc


def export_text(ledger: Ledger, as_of: date | None = None) -> str:
    """The books as scenario YAML (the format import reads)."""
    from gpuledger.scenario import dump_scenario

    return dump_scenario(ledger.to_scenario(as_of=as_of))


def export_file(ledger: Ledger, path: Path, as_of: date | None = None) -> None:
    """Write the books as a scenario file."""
    from gpuledger.scenario import write_scenario

    write_scenario(ledger.to_scenario(as_of=as_of), path)
