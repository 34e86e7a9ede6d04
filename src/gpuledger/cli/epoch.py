"""``gpuledger import-epoch``: Epoch AI's public GPU clusters and data centers into the books."""

from __future__ import annotations

from typing import Annotated

from gpuledger.cli._common import SETTINGS, JsonFlag, books, print_json, say, value
from gpuledger.services import requests as rq

_FILE = "A CSV file in Epoch AI's layout (default: the copy shipped with gpuledger)."


def import_epoch(
    owner: Annotated[
        list[str] | None,
        value("OWNER", "Only rows that list this owner (repeatable; name or id).", "--owner"),
    ] = None,
    clusters: Annotated[str | None, value("FILE", _FILE, "--clusters")] = None,
    timelines: Annotated[str | None, value("FILE", _FILE, "--timelines")] = None,
    data_centers: Annotated[str | None, value("FILE", _FILE, "--data-centers")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Import Epoch AI's GPU clusters and data centers (CC BY 4.0) atomically.

    Owners become orgs, data centers sites with their dated power, clusters
    clusters (at the data center at their address, when it is their owner's),
    chip types SKUs, Existing rows actual claims; every row skipped, and every
    cluster at no site, is listed with its reason. Re-importing the same files
    changes nothing.
    """
    from gpuledger.services.epoch import import_epoch as run

    paths = {
        name: rq.parse_input_file(text, flag) if text is not None else None
        for name, text, flag in (
            ("clusters", clusters, "--clusters"),
            ("timelines", timelines, "--timelines"),
            ("data_centers", data_centers, "--data-centers"),
        )
    }
    owners = tuple(rq.parse_text(o, "--owner", 200) for o in owner or ())
    with books(create=True) as ledger:
        result = run(ledger, actor=SETTINGS.actor, owners=owners, **paths)
    if as_json:
        print_json(result.to_json())
        return
    r = result.report
    say(
        f"imported Epoch AI: {r.orgs:,} orgs, {r.sites:,} sites ({r.power_steps:,} power "
        f"steps), {r.clusters:,} clusters, {r.skus:,} SKUs, {r.claims:,} actual claims; "
        f"{result.books.new_events:,} new events, {result.books.existing_events:,} already "
        "in the books"
    )
    if r.filtered_out:
        say(f"left out by --owner: {r.filtered_out:,} rows")
    say(f"skipped {len(r.skipped):,} rows:")
    for reason, count in r.skipped_by_reason().items():
        say(f"  {count:,} {reason}")
    for skipped in r.skipped:
        say(f"  {skipped}")
    say(f"{r.placed:,} clusters at their data center; {len(r.unplaced):,} at no site:")
    for reason, count in r.unplaced_by_reason().items():
        say(f"  {count:,} {reason}")
    for unplaced in r.unplaced:
        say(f"  {unplaced}")
    say(f"Data: {r.credit}")
