"""The dashboard's forms read with the one parser (``services.requests``).

A form's empty field means "not given"; every value is parsed as the CLI and
the API parse it, and a bad one is an :class:`~gpuledger.domain.InvalidInput`
naming the form's field.
"""

from __future__ import annotations

from collections.abc import Mapping

from gpuledger.domain import Diversion, InvalidInput
from gpuledger.planning import DivertChange
from gpuledger.services import requests as rq


def field(fields: Mapping[str, str], name: str) -> str | None:
    """A field's value, stripped; None when missing or blank."""
    text = (fields.get(name) or "").strip()
    return text or None


def required(fields: Mapping[str, str], name: str, what: str | None = None) -> str:
    """A field that must be filled in."""
    text = field(fields, name)
    if text is None:
        raise InvalidInput(f"{what or name.replace('_', ' ')} is required", field=name)
    return text


def parse_payback(text: str | None) -> tuple[tuple[str, int], ...]:
    """``LOT:QTY`` pieces separated by commas, semicolons or new lines."""
    return tuple((p.lot, p.qty) for p in rq.parse_paybacks(rq.split_list(text), "payback"))


def diversion_form(fields: Mapping[str, str], proposer: str | None = None) -> Diversion:
    """The diversion a form describes (its id derived from the fields when left blank)."""
    ident = field(fields, "id")
    reason = field(fields, "reason")
    return rq.diversion_request(
        ident=None if ident is None else rq.parse_id(ident, "id"),
        lot=rq.parse_id(required(fields, "lot"), "lot"),
        qty=rq.parse_qty(required(fields, "qty"), "qty"),
        from_org=rq.parse_id(required(fields, "from_org"), "from_org"),
        to_org=rq.parse_id(required(fields, "to_org"), "to_org"),
        on=rq.parse_date(required(fields, "on", "on (the date of the diversion)"), "on"),
        payback=rq.parse_paybacks(rq.split_list(fields.get("payback")), "payback"),
        reason=None if reason is None else rq.parse_text(reason, "reason"),
        proposer=proposer,
    )


def divert_change(fields: Mapping[str, str]) -> DivertChange:
    """The hypothetical diversion a form describes (the change of ``impact --divert``)."""
    from gpuledger.services.planning import divert_change as change_of

    return change_of(diversion_form(fields))
