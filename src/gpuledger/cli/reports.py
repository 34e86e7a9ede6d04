"""Reports: claims, the HTML board report and the founding story's demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from gpuledger.cli._common import (
    SETTINGS,
    JsonFlag,
    PolicyOption,
    SamplesOption,
    SeedOption,
    books,
    err,
    now,
    print_json,
    say,
    value,
)
from gpuledger.services import requests as rq

#: The demo's books when no --db is given: replaced on every run.
DEMO_DB = Path("gpuledger-demo.db")


def claims(
    samples: SamplesOption = None,
    seed: SeedOption = None,
    policy: PolicyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Check each public claim against the books (actual) or the forecast (target)."""
    n = rq.parse_samples(samples, "--samples")
    chosen_seed = rq.parse_seed(seed, "--seed")
    chosen = rq.parse_policy(policy, "--policy")
    from gpuledger.claims import claims_report
    from gpuledger.forecast import rich_progress
    from gpuledger.services.claims import check

    with books() as ledger, rich_progress(console=err()) as progress:
        checks = check(ledger, policy=chosen, samples=n, seed=chosen_seed, progress=progress)
    if as_json:
        print_json(claims_report(checks))
        return
    from gpuledger.cli import render

    render.claims(checks)


def report(
    html: Annotated[str, value("OUT", "Where to write the HTML report.", "--html")],
    policy: PolicyOption = None,
    samples: SamplesOption = None,
    seed: SeedOption = None,
) -> None:
    """Write one self-contained HTML report for a board: overview, impacts, forecast, claims."""
    path = rq.parse_output_file(html, "--html")
    chosen = rq.parse_policy(policy, "--policy")
    n = rq.parse_samples(samples, "--samples")
    chosen_seed = rq.parse_seed(seed, "--seed")
    from gpuledger.reports.html import render_report

    with books() as ledger:
        document = render_report(
            ledger, policy=chosen, samples=n, seed=chosen_seed, generated_at=now()
        )
    path.write_text(document, encoding="utf-8")
    say(f"report written to {path} ({len(document.encode()):,} bytes)")


def demo(policy: PolicyOption = None, as_json: JsonFlag = False) -> None:
    """Replay the founding story (12,000 H100 diverted from Tesla to X) and its cost.

    Uses --db when given, else a fresh ./gpuledger-demo.db.
    """
    chosen = rq.parse_policy(policy, "--policy")
    from gpuledger.demo import demo_report
    from gpuledger.scenario import demo_scenario_path, load_scenario

    if SETTINGS.db is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
        SETTINGS.db = str(DEMO_DB)
    scenario = load_scenario(demo_scenario_path())
    with books(create=True) as ledger:
        ledger.import_scenario(scenario, actor="demo")
        result = demo_report(ledger, policy=chosen)
    if as_json:
        print_json(result.to_json())
        return
    from gpuledger.cli import render

    render.demo(result)
