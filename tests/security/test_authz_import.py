"""Import takes nothing it may not: roles first, every record authorized (issue 10: 1-3, 5).

Each attack is a scenario file built from the books themselves (``conftest.only``),
so every record it does not mean to change is restated exactly as held.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from gpuledger.domain import Diversion, DiversionStatus, Group, Parameters
from gpuledger.scenario import dump_scenario
from tests.api.conftest import World, make_world
from tests.cli.conftest import fingerprint, run
from tests.security.conftest import books, changed, find, only, upload

#: a billion laughs: the parser must never see it from a caller who may not import
BOMB = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
    for i in range(8)
)


def refused(r: object, *, status: int = 403) -> dict[str, str]:
    """The error of a refused request, checked to be ``status``."""
    assert getattr(r, "status_code") == status, getattr(r, "text")  # noqa: B009
    error: dict[str, str] = getattr(r, "json")()["error"]  # noqa: B009
    return error


# --------------------------------------------------------------------------- 1. roles first


@pytest.mark.parametrize("user", ["nobody", "viewer", "approver", "auditor"])
@pytest.mark.parametrize("text", [BOMB, "{{{ not yaml", "name: x\nas_of: 2024-01-31\n"])
def test_a_caller_who_may_import_nothing_is_refused_before_the_file_is_parsed(
    world: World, user: str, text: str
) -> None:
    before = world.app.state.backend.ledger.event_count()
    error = refused(upload(world, user, text))
    assert error["code"] == "permission_denied" and "may not import" in error["message"]
    assert world.app.state.backend.ledger.event_count() == before


def test_the_cli_refuses_an_import_by_a_user_with_no_role_before_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "books.db"
    w = make_world(f"sqlite:///{db}")
    try:
        attack = tmp_path / "attack.yaml"
        attack.write_text(BOMB)
        before = fingerprint(db)
        code, _, err = run(capsys, "--db", str(db), "--as", "nobody", "import", str(attack))
        assert code == 2 and "may not import" in err
        assert fingerprint(db) == before
        # a books-admin's import of the same books is a no-op, as before
        attack.write_text(dump_scenario(books(w)))
        code, _, err = run(capsys, "--db", str(db), "--as", "root", "import", str(attack))
        assert code == 0, err
    finally:
        w.client.close()
        w.app.state.backend.ledger.close()


# --------------------------------------------------------------------------- 2. records


def test_annexation_an_org_cannot_be_redeclared_into_the_importers_group(world: World) -> None:
    s = books(world)
    acme = changed(find(s.orgs, "acme"), group="musk")
    error = refused(upload(world, "groupadmin", only(s, {"acme"}, orgs=(acme,))))
    assert "org 'acme'" in error["message"]
    assert find(books(world).orgs, "acme").group is None
    assert "acme" not in world.ok("groupadmin", "GET", "/whoami")["orgs"]


@pytest.mark.parametrize(
    ("kind", "build"),
    [
        ("cluster", lambda s: {"clusters": (*only(s, {"acme"}).clusters,
                                            changed(find(s.clusters, "tesla-train"), org="acme"))}),
        ("target", lambda s: {"targets": (*only(s, {"acme"}).targets,
                                          changed(find(s.targets, "tesla-h1"), consumer="acme"))}),
        ("claim", lambda s: {"claims": (*only(s, {"acme"}).claims,
                                        changed(find(s.claims, "tesla-12k-now"), org="acme"))}),
        ("order", lambda s: {"orders": (*only(s, {"acme"}).orders,
                                        changed(find(s.orders, "PO-T"), org="acme", qty=1))}),
    ],
)  # fmt: skip
def test_another_orgs_record_cannot_be_redeclared_as_the_importers(
    world: World, kind: str, build: object
) -> None:
    s = books(world)
    attack = only(s, {"acme"}, **build(s))  # type: ignore[operator]
    error = refused(upload(world, "outsider", attack))
    # the record is named (the caller named it), its owner never is
    assert "admin" in error["message"] and "org 'tesla'" not in error["message"]
    assert books(world) == s


def test_an_import_may_restate_its_own_orgs_records_and_change_them(world: World) -> None:
    s = books(world)
    po = changed(find(s.orders, "PO-A"), qty=2000)
    mine = only(s, {"acme"})
    world.ok("outsider", "POST", "/scenario", {"yaml": dump_scenario(mine)})
    bigger = dataclasses.replace(mine, orders=(po,))
    world.ok("outsider", "POST", "/scenario", {"yaml": dump_scenario(bigger)})
    assert find(books(world).orders, "PO-A").qty == 2000


# --------------------------------------------------------------------------- 3. diversions


@pytest.mark.parametrize("status", [DiversionStatus.POSTED, DiversionStatus.VOIDED])
def test_an_import_cannot_post_or_void_a_diversion(world: World, status: DiversionStatus) -> None:
    s = books(world)
    d = Diversion("D-IMP", "LOT-T1", 4000, "tesla", "x", date(2024, 1, 20), status=status)
    error = refused(upload(world, "groupadmin", only(s, {"tesla", "x"}, diversions=(d,))))
    assert "only proposes" in error["message"]
    assert world.call("root", "GET", "/diversions/D-IMP").status_code == 404
    assert books(world) == s


def test_an_imported_diversion_is_proposed_by_the_importer_and_waits_for_approvals(
    world: World,
) -> None:
    s = books(world)
    d = Diversion(
        "D-IMP", "LOT-T1", 40, "tesla", "x", date(2024, 1, 20), status=DiversionStatus.PENDING
    )
    text = dump_scenario(only(s, {"tesla", "x"}, diversions=(d,)))
    world.ok("groupadmin", "POST", "/scenario", {"yaml": text})
    view = world.ok("root", "GET", "/diversions/D-IMP")
    assert view["status"] == "pending" and view["diversion"]["proposed_by"] == "groupadmin"
    # the importer proposed it, so it may not approve it as the giver's side
    refused(world.call("groupadmin", "POST", "/diversions/D-IMP/approve"))
    # another proposer named in the file is refused
    other = changed(d, id="D-IMP2", proposed_by="planner")
    error = refused(upload(world, "groupadmin", only(s, {"tesla", "x"}, diversions=(other,))))
    assert "proposes as its importer" in error["message"]


# --------------------------------------------------------------------------- 4. shared records


def _sku(s: object) -> dict[str, object]:
    sku = changed(find(s.skus, "H100"), annual_failure_rate=0.99)  # type: ignore[attr-defined]
    return {"skus": (sku,)}


def _vendor(s: object) -> dict[str, object]:
    v = find(s.vendors, "nvidia")  # type: ignore[attr-defined]
    slow = tuple(changed(lt, p50_days=2000, p90_days=2500) for lt in v.lead_times)
    return {"vendors": (changed(v, lead_times=slow),)}


SHARED = {
    "sku": _sku,
    "vendor": _vendor,
    "group": lambda s: {"groups": (*s.groups, Group("cartel"))},
    "parameters": lambda s: {"parameters": Parameters(gpu_hour_price_usd=99.0)},
}


@pytest.mark.parametrize("what", list(SHARED))
def test_shared_records_need_the_books_admin(world: World, what: str) -> None:
    s = books(world)
    attack = only(s, {"tesla"}, **SHARED[what](s))
    error = refused(upload(world, "admin", attack))
    assert "books-admin" in error["message"]
    assert books(world) == s
    # a file naming no org at all, by a user with no role: refused before parsing
    nothing = dataclasses.replace(only(s, set()), **SHARED[what](s))
    refused(upload(world, "nobody", nothing))
    assert books(world) == s
    # the books-admin may
    world.ok(
        "root",
        "POST",
        "/scenario",
        {"yaml": dump_scenario(dataclasses.replace(s, **SHARED[what](s)))},
    )
    assert books(world) != s


def test_an_org_admin_may_restate_shared_records_unchanged(world: World) -> None:
    s = books(world)
    world.ok("admin", "POST", "/scenario", {"yaml": dump_scenario(only(s, {"tesla"}))})
    assert books(world) == s
