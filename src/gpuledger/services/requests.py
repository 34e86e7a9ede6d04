"""What a caller typed, parsed once: values, their bounds and every default.

The CLI's options, the API's query and body values and the web's form fields
all pass through these functions, so ``LOT:A:5`` or ``--samples 0`` are
refused the same way everywhere, with an :class:`~gpuledger.domain.InvalidInput`
(or its :class:`~gpuledger.domain.OutOfBounds`) naming the field as the caller
named it (``--qty`` on the command line, ``qty`` in a form).

Syntaxes (the same in every interface):

- ``LOT:QTY`` a payback line; ``LOT:QTY:FROM:TO`` a diversion; ``LOT:DAYS`` a
  slip (DAYS may be negative); ``ORG:VENDOR:SKU:QTY`` a new order;
  ``TARGET:PRIORITY`` a changed priority. Ids in these syntaxes never hold a
  colon, so ``LOT:A:5`` is refused, not read as lot ``LOT:A``; blanks around a
  colon are allowed.
- Whole numbers may carry ``_`` or ``,`` between digits (``12,000``).
- Dates are ISO ``YYYY-MM-DD`` within the books' bounds.

Imports only :mod:`gpuledger.domain`: the command line loads it before parsing.

Over 500 lines: every parse and default of every interface lives here by
design (one rule, one place); split, the CLI and the API would import two.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from gpuledger.domain import (
    CountUnit,
    Diversion,
    DiversionStatus,
    InvalidInput,
    Movement,
    Payback,
    PolicyName,
    TransferKind,
)
from gpuledger.domain.enums import OutputFormat
from gpuledger.domain.ids import diversion_id, movement_id
from gpuledger.domain.limits import (
    DAYS_MAX,
    PRIORITY_MAX,
    QTY_MAX,
    SAMPLES_MAX,
    TEXT_MAX_LEN,
    check_date,
    check_id,
    check_int,
    check_text,
)

if TYPE_CHECKING:
    from gpuledger.planning.changes import Change

E = TypeVar("E", bound=Enum)

# --------------------------------------------------------------------------- defaults

#: The policy of plan, impact, forecast and claims when none is given: the books
#: as they stand (each lot to its consignee), in every interface.
DEFAULT_POLICY: Final = PolicyName.CONSIGNED
#: Monte Carlo samples and seed of a forecast when none is given.
DEFAULT_SAMPLES: Final = 1000
DEFAULT_SEED: Final = 0
SEED_MAX: Final = 2**63 - 1
#: The most samples one request to a server may ask for (the API, the web): about
#: 1.5 s of one core at the founding story's size. Larger runs belong to the CLI
#: (``gpuledger forecast --workers N``).
SERVER_SAMPLES_MAX: Final = 20_000
#: Local Dask workers one forecast may start.
WORKERS_MAX: Final = 256
#: Where ``gpuledger serve`` listens when not told.
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8000
#: What ``--as`` records when nobody is named (``GPULEDGER_USER`` otherwise).
DEFAULT_ACTOR: Final = "cli"

# --------------------------------------------------------------------------- shapes

_ID = r"[^:\s/]+"
_NUM = r"[0-9]{1,12}"
_SEP = r" *: *"  # blanks around a colon are allowed: "LOT-B : 5"
#: The shapes of the colon syntaxes (the API states them in its OpenAPI as well).
PAYBACK_SHAPE: Final = re.compile(rf"({_ID}){_SEP}({_NUM})")
DIVERT_SHAPE: Final = re.compile(rf"({_ID}){_SEP}({_NUM}){_SEP}({_ID}){_SEP}({_ID})")
SLIP_SHAPE: Final = re.compile(rf"({_ID}){_SEP}([+-]?[0-9]{{1,5}})")
NEW_ORDER_SHAPE: Final = re.compile(rf"({_ID}){_SEP}({_ID}){_SEP}({_ID}){_SEP}({_NUM})")
PRIORITY_SHAPE: Final = re.compile(rf"({_ID}){_SEP}([0-9]{{1,7}})")

_WHOLE = re.compile(r"[+-]?[0-9]+(?:[_,][0-9]+)*")
_HOST = re.compile(r"[A-Za-z0-9._:\[\]-]{1,253}")
_SCHEDULER = re.compile(r"(?:tcp|tls|inproc|ucx)://\S{1,300}")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + "...")


# --------------------------------------------------------------------------- plain values


def parse_id(text: str, field: str) -> str:
    """An id (``domain.limits.check_id``): letters, digits and ``. _ : + @ # -``."""
    return check_id(text, field)


def parse_text(text: str, field: str, max_len: int = TEXT_MAX_LEN) -> str:
    """Free text (a reason, a label): printable, at most ``max_len`` characters."""
    return check_text(text, field, max_len)


def parse_int(text: str | int, field: str, *, low: int, high: int) -> int:
    """A whole number in ``low..high``; ``12,000`` and ``12_000`` read as 12000."""
    if isinstance(text, bool):
        raise InvalidInput(f"{field} {text!r} is not a whole number", field=field)
    if isinstance(text, int):
        return check_int(text, field, low=low, high=high)
    value = text.strip()
    if not _WHOLE.fullmatch(value) or len(value) > 40:
        raise InvalidInput(f"{field} {_shown(text)} is not a whole number", field=field)
    return check_int(int(value.replace(",", "").replace("_", "")), field, low=low, high=high)


def parse_qty(text: str | int, field: str) -> int:
    """Units in one record: 1 to ``QTY_MAX``."""
    return parse_int(text, field, low=1, high=QTY_MAX)


def parse_days(text: str | int, field: str) -> int:
    """A signed day count (a slip): within ``DAYS_MAX`` either way."""
    return parse_int(text, field, low=-DAYS_MAX, high=DAYS_MAX)


def parse_priority(text: str | int, field: str) -> int:
    """A target's priority: 1 (highest) to ``PRIORITY_MAX``."""
    return parse_int(text, field, low=1, high=PRIORITY_MAX)


def parse_samples(text: str | int | None, field: str, high: int = SAMPLES_MAX) -> int:
    """Monte Carlo samples: 1 to ``high`` (default ``DEFAULT_SAMPLES``)."""
    return DEFAULT_SAMPLES if text is None else parse_int(text, field, low=1, high=high)


def parse_seed(text: str | int | None, field: str) -> int:
    """A random seed: 0 to 2**63 - 1 (default ``DEFAULT_SEED``)."""
    return DEFAULT_SEED if text is None else parse_int(text, field, low=0, high=SEED_MAX)


def parse_workers(text: str | int | None, field: str) -> int | None:
    """Local Dask workers: 1 to ``WORKERS_MAX``, None for none."""
    return None if text is None else parse_int(text, field, low=1, high=WORKERS_MAX)


def parse_port(text: str | int | None, field: str) -> int:
    """A TCP port: 1 to 65535 (default ``DEFAULT_PORT``)."""
    return DEFAULT_PORT if text is None else parse_int(text, field, low=1, high=65_535)


def parse_host(text: str | None, field: str) -> str:
    """A host name or IP address to listen on (default ``DEFAULT_HOST``)."""
    if text is None:
        return DEFAULT_HOST
    if not _HOST.fullmatch(text):
        raise InvalidInput(f"{field} {_shown(text)} is not a host name or address", field=field)
    return text


def parse_scheduler(text: str | None, field: str) -> str | None:
    """A Dask scheduler address (``tcp://host:port``), None for none."""
    if text is None:
        return None
    if not _SCHEDULER.fullmatch(text):
        raise InvalidInput(
            f"{field} {_shown(text)} is not a scheduler address (tcp://host:port)", field=field
        )
    return text


def parse_date(text: str | date, field: str) -> date:
    """An ISO date (``YYYY-MM-DD``) within ``domain.limits``' bounds."""
    if isinstance(text, date):
        return check_date(text, field)
    try:
        day = date.fromisoformat(text.strip()) if len(text) <= 40 else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidInput(f"{field} {_shown(text)} is not a date (YYYY-MM-DD)", field=field)
    return check_date(day, field)


def parse_optional_date(text: str | date | None, field: str) -> date | None:
    """:func:`parse_date`, None kept (the caller gave no date)."""
    return None if text is None else parse_date(text, field)


def parse_choice(text: str, choices: type[E], field: str) -> E:
    """One value of an enum, by its value (``fair-share``), case-insensitive."""
    for member in choices:
        if str(member.value).lower() == text.strip().lower():
            return member
    allowed = ", ".join(str(m.value) for m in choices)
    raise InvalidInput(f"{field} {_shown(text)} is not one of {allowed}", field=field)


def parse_policy(text: str | PolicyName | None, field: str = "policy") -> PolicyName:
    """A planning policy; ``DEFAULT_POLICY`` when none is given."""
    if text is None:
        return DEFAULT_POLICY
    if isinstance(text, PolicyName):
        return text
    return parse_choice(text, PolicyName, field)


def parse_format(text: str | None, field: str = "format", *, as_json: bool = False) -> OutputFormat:
    """How to print a tabular result; ``OutputFormat.TABLE`` when none is given.

    ``as_json`` is the older ``--json`` flag: the same as ``json``, refused beside another format.
    """
    if as_json:
        check_one_of({"--json": True, field: text}, field)
        return OutputFormat.JSON
    return OutputFormat.TABLE if text is None else parse_choice(text, OutputFormat, field)


def parse_input_file(text: str, field: str) -> Path:
    """A file to read: it must exist."""
    path = Path(text).expanduser()
    if not text or not path.is_file():
        raise InvalidInput(f"{field} {_shown(text)} is not a file that exists", field=field)
    return path


def parse_output_file(text: str, field: str) -> Path:
    """A file to write: its directory must exist (the file is created or replaced)."""
    path = Path(text).expanduser()
    if not text or path.is_dir() or not path.parent.is_dir():
        raise InvalidInput(
            f"{field} {_shown(text)} cannot be written: its directory does not exist", field=field
        )
    return path


# --------------------------------------------------------------------------- colon syntaxes


def parse_unit(text: str | CountUnit | None, field: str = "unit") -> CountUnit:
    """What counts are shown in (``gpus`` or ``h100e``); GPUs when none is given."""
    if text is None:
        return CountUnit.GPUS
    if isinstance(text, CountUnit):
        return text
    return parse_choice(text, CountUnit, field)


def _shape(pattern: re.Pattern[str], text: str, field: str, syntax: str) -> tuple[str, ...]:
    m = pattern.fullmatch(text.strip()) if len(text) <= 1000 else None
    if m is None:
        raise InvalidInput(f"{field} {_shown(text)} is not {syntax}", field=field)
    return m.groups()


def parse_payback(text: str, field: str = "payback") -> Payback:
    """``LOT:QTY``: units of the receiver's lot owed back to the giver."""
    lot, qty = _shape(PAYBACK_SHAPE, text, field, "LOT:QTY")
    return Payback(parse_id(lot, field), parse_qty(qty, field))


def parse_paybacks(items: Iterable[str], field: str = "payback") -> tuple[Payback, ...]:
    """Every ``LOT:QTY`` of a repeated option (or of :func:`split_list`), in order."""
    return tuple(parse_payback(item, field) for item in items)


def split_list(text: str | None) -> list[str]:
    """A form's list: items separated by commas, semicolons or new lines, blanks dropped."""
    return [piece.strip() for piece in re.split(r"[,;\n]+", text or "") if piece.strip()]


# --------------------------------------------------------------------------- records


def diversion_request(
    *,
    lot: str,
    qty: int,
    from_org: str,
    to_org: str,
    on: date,
    payback: tuple[Payback, ...] = (),
    reason: str | None = None,
    proposer: str | None = None,
    ident: str | None = None,
) -> Diversion:
    """A diversion to propose; given no id it gets the derived one (``domain.ids``)."""
    return Diversion(
        id=ident or diversion_id(on, lot, from_org, to_org, qty),
        lot=lot,
        qty=qty,
        from_org=from_org,
        to_org=to_org,
        on=on,
        payback=payback,
        status=DiversionStatus.PENDING,
        proposed_by=proposer,
        reason=reason,
    )


def movement_request(
    op: TransferKind,
    *,
    qty: int,
    on: date,
    org: str,
    lot: str | None,
    cluster: str | None,
    ident: str | None = None,
) -> Movement:
    """A deploy, fail or return; given no id it gets the derived one, as in scenario files.

    The same movement typed twice, or typed and imported, is then one movement.
    """
    derived = movement_id(op, on, org, qty, lot=lot, cluster=cluster)
    return Movement(id=ident or derived, op=op, qty=qty, on=on, org=org, lot=lot, cluster=cluster)


# --------------------------------------------------------------------------- changes

CHANGE_FIELDS: Final = ("divert", "slip", "new_order", "priority")


def parse_change(
    *,
    divert: str | None = None,
    on: date | None = None,
    payback: Iterable[str] = (),
    slip: str | None = None,
    new_order: str | None = None,
    priority: str | None = None,
    names: dict[str, str] | None = None,
) -> Change:
    """The planning change that ``gpuledger impact`` options (and ``GET /impact``) describe.

    Exactly one of ``divert`` (``LOT:QTY:FROM:TO``, needs ``on``; ``payback`` is
    ``LOT:QTY`` items), ``slip`` (``LOT:DAYS``), ``new_order``
    (``ORG:VENDOR:SKU:QTY``, needs ``on``) or ``priority`` (``TARGET:PRIORITY``).
    Each value is parsed first, then how they combine.

    Args:
        names: how the caller calls each field (``{"new_order": "--new-order"}``);
            errors use these names, the keys otherwise.

    Raises:
        InvalidInput: naming the field: a malformed value, none or several
            changes, a missing ``on``, a payback without a diversion.
    """

    def name(key: str) -> str:
        return (names or {}).get(key, key)

    # 1. Every value on its own: its shape, its numbers and its ids.
    paid = parse_paybacks(payback, name("payback"))
    texts = dict(zip(CHANGE_FIELDS, (divert, slip, new_order, priority), strict=True))
    given = [key for key in CHANGE_FIELDS if texts[key]]
    parsed = {key: _CHANGE_PARTS[key](texts[key] or "", name(key)) for key in given}
    # 2. How they combine.
    if len(given) != 1:
        listed = ": " + ", ".join(name(g) for g in given) if given else ""
        raise InvalidInput(
            f"give exactly one change: {', '.join(name(k) for k in CHANGE_FIELDS)} "
            f"({len(given)} given{listed})",
            field=name(given[1] if len(given) > 1 else "divert"),
        )
    if paid and not divert:
        raise InvalidInput(
            f"{name('payback')} applies to a diversion: give it with {name('divert')}",
            field=name("payback"),
        )
    (key,) = given
    if key in ("divert", "new_order") and on is None:
        raise InvalidInput(
            f"{name(key)} needs {name('on')} (the date of the change)", field=name("on")
        )
    # 3. The change.
    return _change(key, parsed[key], on, paid)


def _divert_parts(text: str, field: str) -> tuple[object, ...]:
    lot, qty, src, dst = _shape(DIVERT_SHAPE, text, field, "LOT:QTY:FROM:TO")
    return parse_id(lot, field), parse_qty(qty, field), parse_id(src, field), parse_id(dst, field)


def _slip_parts(text: str, field: str) -> tuple[object, ...]:
    lot, days = _shape(SLIP_SHAPE, text, field, "LOT:DAYS")
    return parse_id(lot, field), parse_days(days, field)


def _new_order_parts(text: str, field: str) -> tuple[object, ...]:
    org, vendor, sku, qty = _shape(NEW_ORDER_SHAPE, text, field, "ORG:VENDOR:SKU:QTY")
    ids = tuple(parse_id(x, field) for x in (org, vendor, sku))
    return (*ids, parse_qty(qty, field))


def _priority_parts(text: str, field: str) -> tuple[object, ...]:
    target, level = _shape(PRIORITY_SHAPE, text, field, "TARGET:PRIORITY")
    return parse_id(target, field), parse_priority(level, field)


_CHANGE_PARTS = {
    "divert": _divert_parts,
    "slip": _slip_parts,
    "new_order": _new_order_parts,
    "priority": _priority_parts,
}


def _change(key: str, parts: tuple[Any, ...], on: date | None, paid: tuple[Payback, ...]) -> Change:
    """The planning change of one parsed syntax (the planner loads here, not before)."""
    from gpuledger.planning.changes import (
        DivertChange,
        NewOrderChange,
        PriorityChange,
        SlipChange,
    )

    if key == "divert":
        assert on is not None
        lot, qty, src, dst = parts
        return DivertChange(lot, qty, src, dst, on, tuple((p.lot, p.qty) for p in paid))
    if key == "new_order":
        assert on is not None
        org, vendor, sku, qty = parts
        return NewOrderChange(org, vendor, sku, qty, on)
    if key == "slip":
        lot, days = parts
        return SlipChange(lot, days, on)
    assert key == "priority", key
    target, level = parts
    return PriorityChange(target, level, on)


@dataclass(frozen=True)
class ForecastRequest:
    """A forecast asked for, parsed once for every interface (CLI, API, web).

    Attributes:
        policy: the planning policy of every sample (``DEFAULT_POLICY`` if none).
        samples, seed: the Monte Carlo run.
        as_of: the books as of this date; None is the books' today.
        known_on: what the books knew on this date; None is everything.
        failures: False runs without interruptions or failures (``--no-failures``).
        workers, scheduler: where a CLI run goes (the API runs in process).
    """

    policy: PolicyName
    samples: int
    seed: int
    as_of: date | None = None
    known_on: date | None = None
    failures: bool = True
    workers: int | None = None
    scheduler: str | None = None


def forecast_request(
    *,
    policy: str | PolicyName | None = None,
    samples: str | int | None = None,
    seed: str | int | None = None,
    as_of: str | date | None = None,
    known_on: str | date | None = None,
    no_failures: bool = False,
    workers: str | int | None = None,
    scheduler: str | None = None,
    samples_max: int = SAMPLES_MAX,
    name: Callable[[str], str] = str,
) -> ForecastRequest:
    """Parse a forecast's options; ``name`` turns a field into the interface's spelling.

    Raises:
        OutOfBounds, InvalidRequest: a value is malformed or out of bounds, or
            both ``workers`` and ``scheduler`` are given (naming the option).
    """
    n_workers = parse_workers(workers, name("workers"))
    address = parse_scheduler(scheduler, name("scheduler"))
    check_one_of({name("workers"): n_workers, name("scheduler"): address}, name("workers"))
    request = ForecastRequest(
        policy=parse_policy(policy, name("policy")),
        samples=parse_samples(samples, name("samples"), samples_max),
        seed=parse_seed(seed, name("seed")),
        as_of=parse_optional_date(as_of, name("as_of")),
        known_on=parse_optional_date(known_on, name("known_on")),
        failures=not no_failures,
        workers=n_workers,
        scheduler=address,
    )
    assert 1 <= request.samples <= samples_max
    return request


def cli_name(field: str) -> str:
    """The CLI's spelling of a request field: ``known_on`` -> ``--known-on``."""
    return "--" + field.replace("_", "-")


def check_one_subject(diversion: str | None, changes: Iterable[str | None], field: str) -> None:
    """``--diversion ID`` names a diversion of the books: no hypothetical change beside it."""
    if diversion and any(changes):
        raise InvalidInput(f"{field} cannot be combined with another change", field=field)


def check_one_of(values: dict[str, object], field: str) -> None:
    """At most one of ``values`` (by the caller's names) may be given."""
    given = [k for k, v in values.items() if v is not None]
    if len(given) > 1:
        raise InvalidInput(f"give {' or '.join(values)}, not both", field=field)
