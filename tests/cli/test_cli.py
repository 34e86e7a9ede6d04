"""The command line end to end: exit codes, one-line errors, JSON contracts, idempotent import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuledger.cli import main

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "small.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    captured = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "books.db")


@pytest.fixture
def books(db: str, capsys: pytest.CaptureFixture[str]) -> str:
    code, _, err = run(capsys, "--db", db, "import", str(SMALL))
    assert code == 0, err
    return db


def balances(capsys: pytest.CaptureFixture[str], db: str, *extra: str) -> dict[str, object]:
    code, out, err = run(capsys, "--db", db, "balances", "--json", *extra)
    assert code == 0, err
    data: dict[str, object] = json.loads(out)
    return data


def test_import_twice_changes_nothing(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = balances(capsys, books)
    code, out, _ = run(capsys, "--db", books, "import", str(SMALL))
    assert code == 0
    assert "0 new events" in out
    assert balances(capsys, books) == before
    code, out, _ = run(capsys, "--db", books, "audit", "verify")
    assert code == 0 and out.startswith("ok")


def test_balances_json_contract(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = balances(capsys, books, "--as-of", "2024-03-31")
    assert data["as_of"] == "2024-03-31" and data["known_on"] is None
    rows = data["balances"]
    assert isinstance(rows, list) and rows
    assert set(rows[0]) == {"owner", "bucket", "sku", "posted", "pending", "site"}
    # Conservation: every SKU sums to zero over all accounts.
    assert sum(r["posted"] for r in rows) == 0
    held = {(r["owner"], r["bucket"]): r["posted"] for r in rows}
    # 800 of LOT-A-2 went to beta on 2023-12-10 and arrived with the lot.
    assert held[("org:beta", "stock")] == 500 + 800
    assert held[("cluster:alpha-train", "deployed")] == 1000


def test_known_on_hides_what_the_books_learned_later(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    then = balances(capsys, books, "--as-of", "2024-01-15", "--known-on", "2024-01-15")
    rows = {(r["owner"], r["bucket"]): r["posted"] for r in then["balances"]}  # type: ignore[index, union-attr]
    # The diversion became known on 2024-02-01: on 2024-01-15 the books still showed
    # alpha's 800 units of LOT-A-2 on their way to alpha, and beta holding none of them.
    assert rows.get(("org:beta", "stock"), 0) == 0
    assert rows[("org:alpha", "in_transit")] == 800
    now = balances(capsys, books, "--as-of", "2024-01-15")
    rows = {(r["owner"], r["bucket"]): r["posted"] for r in now["balances"]}  # type: ignore[index, union-attr]
    assert rows[("org:beta", "stock")] == 800
    assert rows.get(("org:alpha", "in_transit"), 0) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["balances", "--as-of", "2024-13-01"], "--as-of", id="bad-date"),
        pytest.param(["trace", "NO-SUCH-LOT"], "NO-SUCH-LOT", id="unknown-lot"),
        pytest.param(
            [
                "divert",
                "propose",
                "D-X",
                "--lot",
                "LOT-A-3",
                "--qty",
                "5",
                "--from",
                "alpha",
                "--to",
                "beta",
                "--on",
                "2024-03-01",
            ],
            "LOT-A-3",
            id="divert-unshipped-lot",
        ),
        pytest.param(
            [
                "divert",
                "propose",
                "D-Y",
                "--lot",
                "LOT-A-1",
                "--qty",
                "999999",
                "--from",
                "alpha",
                "--to",
                "beta",
                "--on",
                "2024-03-01",
            ],
            "LOT-A-1",
            id="divert-too-many",
        ),
        pytest.param(
            ["impact", "--divert", "LOT-A-2:10:alpha"], "LOT:QTY:FROM:TO", id="bad-divert"
        ),
        pytest.param(["divert", "approve", "NOPE"], "NOPE", id="approve-unknown"),
    ],
)
def test_errors_exit_2_with_one_line_and_write_nothing(
    books: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    before = balances(capsys, books)
    code, _, err = run(capsys, "--db", books, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert balances(capsys, books) == before


def test_bad_scenario_file_names_line_and_imports_nothing(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    text = SMALL.read_text().replace("qty: 500, ships_on", "qty: -5, ships_on")
    bad.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "qty: -5" in row)
    code, _, err = run(capsys, "--db", db, "import", str(bad))
    assert code == 2
    assert f"bad.yaml:{line}" in err and "qty" in err
    assert not Path(db).exists()  # the file was refused before any books were created


def test_propose_approve_reject_cycle(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    propose = [
        "divert",
        "propose",
        "D-1",
        "--lot",
        "LOT-B-1",
        "--qty",
        "100",
        "--from",
        "beta",
        "--to",
        "alpha",
        "--on",
        "2024-03-15",
    ]
    code, out, err = run(capsys, "--db", books, "--as", "carol", *propose)
    assert code == 0, err
    rows = balances(capsys, books)["balances"]
    pending = {(r["owner"], r["bucket"]): r["pending"] for r in rows}  # type: ignore[index, union-attr]
    assert pending[("org:beta", "stock")] == -100
    code, out, _ = run(capsys, "--db", books, "--as", "dave", "divert", "reject", "D-1")
    assert code == 0 and "voided" in out
    rows = balances(capsys, books)["balances"]
    assert all(r["pending"] == 0 for r in rows)  # type: ignore[index, union-attr]
    code, out, _ = run(capsys, "--db", books, "divert", "show", "D-1", "--json")
    shown = json.loads(out)
    assert shown["status"] == "voided"
    assert [d["actor"] for d in shown["decisions"]][-1] == "dave"


def test_plan_json_contract(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", books, "plan", "--policy", "consigned", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["policy"] == "consigned" and data["as_of"] == "2024-03-31"
    targets = {t["id"]: t for t in data["targets"]}
    assert set(targets) == {"alpha-q1", "alpha-train-h2", "beta-q2"}
    for t in targets.values():
        assert set(t) >= {
            "id",
            "consumer",
            "sku",
            "qty",
            "by",
            "held_at_by",
            "completed_on",
            "days_late",
        }
    # alpha holds 1,000 (LOT-A-1) + 200 (LOT-A-2 after the diversion) on 2024-03-31.
    assert targets["alpha-q1"]["held_at_by"] == 1200


def test_impact_json_contract_and_same_numbers_for_the_booked_diversion(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hypothetical = [
        "impact",
        "--divert",
        "LOT-A-2:800:alpha:beta",
        "--on",
        "2023-12-10",
        "--payback",
        "LOT-B-2:800",
        "--json",
    ]
    code, out, err = run(capsys, "--db", books, *hypothetical)
    assert code == 0, err
    what_if = json.loads(out)
    code, out, err = run(capsys, "--db", books, "impact", "--diversion", "DIV-A2-BETA", "--json")
    assert code == 0, err
    booked = json.loads(out)
    assert what_if["targets"] == booked["targets"]
    rows = {t["id"]: t for t in booked["targets"]}
    for t in rows.values():
        assert set(t) >= {
            "id",
            "completed_before",
            "completed_after",
            "delay_days",
            "held_at_by_before",
            "held_at_by_after",
            "gpu_days_lost",
        }
    assert rows["alpha-q1"]["held_at_by_before"] - rows["alpha-q1"]["held_at_by_after"] == 800
    assert rows["alpha-q1"]["gpu_days_lost"] > 0
    assert {
        "target",
        "shortfall",
        "reorder_on",
        "reorder_arrives_p50",
        "reorder_arrives_p90",
        "payback_lots",
    } <= set(booked["recovery"][0])


def test_export_round_trip_gives_identical_books(
    books: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "back.yaml"
    assert run(capsys, "--db", books, "export", str(exported))[0] == 0
    again = str(tmp_path / "again.db")
    code, _, err = run(capsys, "--db", again, "import", str(exported))
    assert code == 0, err
    assert balances(capsys, again) == balances(capsys, books)


def test_demo_tells_the_founding_story(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", str(tmp_path / "demo.db"), "demo", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["diversion"] == "DIV-2023-12-TESLA-X"
    without = {t["id"]: t for t in data["without_payback"]["targets"]}
    with_pb = {t["id"]: t for t in data["with_payback"]["targets"]}
    # Losing 12,000 units costs Tesla its year-end target; X's payback lots restore it.
    assert (
        without["tesla-eoy24"]["held_at_by_after"]
        == without["tesla-eoy24"]["held_at_by_before"] - 12000
    )
    assert without["tesla-eoy24"]["completed_after"] is None
    assert with_pb["tesla-eoy24"]["completed_after"] == with_pb["tesla-eoy24"]["completed_before"]
    assert data["giver_gpu_days_lost"] > data["giver_gpu_days_lost_with_payback"] > 0
    # Tesla's April 2024 statement of 35,000 active H100 is overstated by the books,
    # and the December diversion out, less the January payback in, reconciles the gap.
    claims = {c["id"]: c for c in data["claims"]}
    active = claims["tesla-35k-active"]
    assert active["overstated"] is True
    assert [(e["id"], e["effect"]) for e in active["explained_by"]] == [
        ("DIV-2023-12-TESLA-X", 12000),
        ("DIV-2023-12-TESLA-X/LOT-X-2024-01", -6000),
    ]
    assert active["gap"] == sum(e["effect"] for e in active["explained_by"]) + active["residual"]
    code, out, _ = run(capsys, "--db", str(tmp_path / "demo.db"), "demo")
    assert code == 0 and "tesla-eoy24" in out


def test_governed_diversion_needs_both_sides_and_an_auditor(
    books: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for user in ("paula", "alice", "bea", "audrey"):
        assert run(capsys, "--db", books, "user", "add", user)[0] == 0
    for args in (
        ("paula", "planner", "--org", "beta"),
        ("alice", "approver", "--org", "beta"),
        ("bea", "approver", "--org", "alpha"),
        ("audrey", "auditor", "--group", "acme"),
    ):
        assert run(capsys, "--db", books, "role", "grant", *args)[0] == 0
    propose = [
        "divert",
        "propose",
        "D-9",
        "--lot",
        "LOT-B-1",
        "--qty",
        "100",
        "--from",
        "beta",
        "--to",
        "alpha",
        "--on",
        "2024-03-15",
    ]
    # A planner (or higher) of a side may propose, not an auditor; the proposer may not approve.
    assert run(capsys, "--db", books, "--as", "audrey", *propose)[0] == 2
    assert run(capsys, "--db", books, "--as", "paula", *propose)[0] == 0
    code, _, err = run(capsys, "--db", books, "--as", "paula", "divert", "approve", "D-9")
    assert code == 2 and "paula" in err
    # Both sides approve: still pending, the related-party auditor is missing.
    for user in ("alice", "bea"):
        code, out, _ = run(capsys, "--db", books, "--as", user, "divert", "approve", "D-9")
        assert code == 0 and out.strip().endswith("pending")
    code, out, _ = run(capsys, "--db", books, "divert", "show", "D-9")
    assert "still needs auditor" in out
    code, out, _ = run(capsys, "--db", books, "--as", "audrey", "divert", "approve", "D-9")
    assert code == 0 and out.strip().endswith("posted")
    held = {(r["owner"], r["bucket"]): r["posted"] for r in balances(capsys, books)["balances"]}  # type: ignore[index, union-attr]
    assert held[("org:alpha", "stock")] == 200 + 100  # LOT-A-2 remainder + the diverted units


def test_plan_unit_option(books: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", books, "plan", "--unit", "gpus", "--json")
    assert code == 0, err
    assert json.loads(out)["unit"] == "gpus"
    # the small example states no H100-equivalent factor: refused in one line, exit 2
    code, out, err = run(capsys, "--db", books, "plan", "--unit", "h100e")
    assert code == 2 and "h100e" in err and "Traceback" not in err
    code, _, err = run(capsys, "--db", books, "impact", "--diversion", "D-1", "--unit", "watts")
    assert code == 2 and "--unit" in err
