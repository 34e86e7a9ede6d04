"""Planner benchmark: every policy at three fleet sizes, and reference solvers.

Run: ``python -m benchmarks.bench_planning [--sizes company,hyperscaler,world]
[--repeat 3] [--no-dense] [--json out.json]``. Times are the best of ``--repeat``
runs, wall clock (and CPU time of this process for the peers). In the same run
it measures, as ratios to the planner:

- ``priority`` against a straightforward pure-Python loop (same semantics, checked
  equal: every target's completion day);
- ``optimal`` at hyperscaler and world size, and on a dense instance (one pool,
  20,000 lots), against OR-Tools' ``SimpleMinCostFlow`` on the lot x target
  transportation problem aggregated per (pool, SKU, day) x (due day, weight), on
  the lot x target problem itself, and HiGHS (scipy ``linprog``) on the lot x
  target problem while it is small; objectives checked equal to the planner's.
  ``planner/peer`` below 1 means the planner is faster;
- ``impact`` of a diversion at company size;
- a plan with power caps (every org with a site whose power steps up four
  times, Epoch AI's method) against the same plan uncapped (issue 13: the cap
  must not cost more than 2x);
- ``optimal`` when every target accepts every other SKU (one LP per pool instead
  of per (pool, SKU)) against the same fleet without accepts.

Aims (issue 3, 2 cores): world consigned and priority < 1 s, fair-share < 3 s,
optimal < 10 s; impact at company size < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from benchmarks.fleet import SIZES, FleetSize, make_fleet
from gpuledger.domain import PolicyName, PowerStep, Scenario, Site, Sku
from gpuledger.planning import (
    DivertChange,
    PlanningSnapshot,
    SupplyKind,
    get_policy,
    impact,
    plan,
    serving_order,
    with_sites,
)
from gpuledger.planning.plan import make_problem, plan_day0
from gpuledger.planning.policies import run_passes

AIMS = {
    ("world", "consigned"): 1.0,
    ("world", "priority"): 1.0,
    ("world", "fair-share"): 3.0,
    ("world", "optimal"): 10.0,
    ("company", "impact"): 0.050,
}
#: A plan with power caps may take at most this many times the uncapped plan.
POWER_CAP_RATIO_MAX = 2.0


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def best_cpu(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Best wall and best CPU time (this process, all threads) of ``repeat`` calls."""
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return wall, cpu, out


# --------------------------------------------------------------------------- references


def python_priority(s: PlanningSnapshot) -> list[int]:
    """``priority`` as a plain Python loop; returns each target's completion day (-1 never)."""
    n_orgs = len(s.orgs)
    served = serving_order(s)
    order = np.argsort(served.rank).tolist()
    need = served.need.tolist()
    family = [int(s.consumer_org[c]) for c in s.target_consumer]
    rows = [
        r
        for r in range(len(s.supply_id))
        if s.supply_qty[r] > 0 and s.supply_day[r] <= s.horizon_day
    ]
    rows.sort(key=lambda r: (int(s.supply_day[r]), r))
    left = {r: int(s.supply_qty[r]) for r in rows}
    own: dict[tuple[int, int], list[int]] = {}
    pool: dict[tuple[int, int], list[int]] = {}
    for r in rows:
        k = int(s.supply_sku[r])
        holder = int(s.supply_holder[r])
        if s.supply_kind[r] == SupplyKind.ARRIVED:
            own.setdefault((holder, k), []).append(r)
        else:
            pool.setdefault((int(s.org_pool[holder]), k), []).append(r)
    got: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (consumer, sku) -> (day, qty)

    def take(i: int, queue: list[int]) -> None:
        for r in queue:
            if need[i] == 0:
                return
            q = min(left[r], need[i])
            if q:
                left[r] -= q
                need[i] -= q
                day = int(s.supply_day[r])
                k = int(s.target_sku[i])
                got.setdefault((family[i], k), []).append((day, q))
                c = int(s.target_consumer[i])
                if c >= n_orgs:
                    got.setdefault((c, k), []).append((day, q))

    for i in order:
        take(i, own.get((family[i], int(s.target_sku[i])), []))
    for i in order:
        take(i, pool.get((int(s.org_pool[family[i]]), int(s.target_sku[i])), []))
    for r in rows:
        if left[r]:
            got.setdefault((int(s.supply_holder[r]), int(s.supply_sku[r])), []).append(
                (int(s.supply_day[r]), left[r])
            )
    day0 = min([s.as_of_day, int(s.target_by.min())] + [int(s.supply_day[r]) for r in rows])
    done = []
    for i in range(len(s.target_id)):
        qty = int(s.target_qty[i])
        if qty <= 0:
            done.append(day0)
            continue
        total, when = 0, -1
        for day, q in sorted(got.get((int(s.target_consumer[i]), int(s.target_sku[i])), [])):
            total += q
            if total >= qty:
                when = day
                break
        done.append(when)
    return done


def transport_arcs(s: PlanningSnapshot) -> dict[str, Any]:
    """The pool as a lot x target transportation problem (after the own pass)."""
    row_ok = (s.supply_qty > 0) & (s.supply_day <= s.horizon_day)
    served = serving_order(s)
    problem = make_problem(s, served, row_ok, served.need, plan_day0(s))
    own_passes = (get_policy(PolicyName.PRIORITY).passes or ())[:1]  # its own pass
    own, residual = run_passes(problem, own_passes)
    w = s.target_weight
    own_cost = float(
        np.sum(
            w[own.demand]
            * own.qty
            * np.maximum(s.supply_day[own.supply] - s.target_by[own.demand], 0)
        )
    )
    rows = np.flatnonzero(row_ok & (s.supply_kind != SupplyKind.ARRIVED))
    tg = np.flatnonzero(residual > 0)
    n_sku = len(s.skus)
    rk = s.org_pool[s.supply_holder[rows]] * n_sku + s.supply_sku[rows]
    tk = problem.target_pool[tg] * n_sku + s.target_sku[tg]
    # all (row, target) pairs with equal keys
    ro, to = np.argsort(rk, kind="stable"), np.argsort(tk, kind="stable")
    rk_s, tk_s = rk[ro], tk[to]
    lo = np.searchsorted(tk_s, rk_s, "left")
    hi = np.searchsorted(tk_s, rk_s, "right")
    cnt = hi - lo
    arc_r = np.repeat(np.arange(rows.size)[ro], cnt)
    starts = np.repeat(lo - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(cnt.sum())
    arc_t = to[starts]
    cost = w[tg[arc_t]] * np.maximum(s.supply_day[rows[arc_r]] - s.target_by[tg[arc_t]], 0)
    never_cost = w[tg] * (problem.never_day - s.target_by[tg])
    return {
        "rows": rows,
        "targets": tg,
        "supply": s.supply_qty[rows],
        "demand": residual[tg],
        "arc_r": arc_r,
        "arc_t": arc_t,
        "cost": cost,
        "never_cost": never_cost,
        "fixed": own_cost,
        "target_pool": problem.target_pool[tg],
        "never_day": problem.never_day,
    }


def highs_transport(a: dict[str, Any]) -> float:
    """HiGHS LP over lot x target arcs, plus a never-delivered arc per target."""
    n_r, n_t, n_a = a["rows"].size, a["targets"].size, a["arc_r"].size
    # variables: arcs | never per target; rows: supply <= qty, demand == need
    cols = np.arange(n_a)
    a_ub = sp.csr_matrix((np.ones(n_a), (a["arc_r"], cols)), shape=(n_r, n_a + n_t))
    a_eq = sp.csr_matrix(
        (
            np.ones(n_a + n_t),
            (np.r_[a["arc_t"], np.arange(n_t)], np.r_[cols, n_a + np.arange(n_t)]),
        ),
        shape=(n_t, n_a + n_t),
    )
    res = linprog(
        np.r_[a["cost"], a["never_cost"]],
        A_ub=a_ub,
        b_ub=a["supply"],
        A_eq=a_eq,
        b_eq=a["demand"],
        bounds=(0, None),
        method="highs",
    )
    return float(res.fun) + a["fixed"]


def ortools_transport(a: dict[str, Any]) -> float:
    """OR-Tools SimpleMinCostFlow over the same arcs (integral costs).

    Works on the lot x target instance of :func:`transport_arcs` and on its
    aggregation (:func:`aggregate_arcs`): supply nodes, demand nodes, arcs between
    them, a never-delivered arc per demand node, surplus to a dump node.
    """
    from ortools.graph.python import min_cost_flow

    n_r, n_t = a["supply"].size, a["demand"].size
    src, dump = n_r + n_t, n_r + n_t + 1
    f = min_cost_flow.SimpleMinCostFlow()
    big = int(a["supply"].sum() + a["demand"].sum())
    tails = np.r_[a["arc_r"], np.full(n_t, src), np.arange(n_r), src]
    heads = np.r_[n_r + a["arc_t"], n_r + np.arange(n_t), np.full(n_r, dump), dump]
    costs = np.r_[a["cost"], a["never_cost"], np.zeros(n_r), 0].astype(np.int64)
    caps = np.full(tails.size, big, dtype=np.int64)
    f.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    supplies = np.r_[a["supply"], -a["demand"], a["demand"].sum(), -a["supply"].sum()]
    f.set_nodes_supplies(np.arange(n_r + n_t + 2, dtype=np.int32), supplies.astype(np.int64))
    status = f.solve()
    if status != f.OPTIMAL:
        raise RuntimeError(f"OR-Tools min-cost flow: status {status}")
    return float(f.optimal_cost()) + a["fixed"]


def aggregate_arcs(s: PlanningSnapshot, a: dict[str, Any]) -> dict[str, Any]:
    """The lot x target instance aggregated: lots per (pool, SKU, day), targets per
    (pool, SKU, due day, weight). Same optimum (units within a node are interchangeable).
    """
    n_sku = len(s.skus)
    rows, tg = a["rows"], a["targets"]
    # supply nodes: (key, day); demand nodes: (key, by, weight)
    rkey = s.org_pool[s.supply_holder[rows]] * n_sku + s.supply_sku[rows]
    r_nodes, r_of = np.unique(np.c_[rkey, s.supply_day[rows]], axis=0, return_inverse=True)
    r_of = r_of.reshape(-1)
    pool_of_t = a["target_pool"]
    tkey = pool_of_t * n_sku + s.target_sku[tg]
    t_nodes, t_of = np.unique(
        np.c_[tkey, s.target_by[tg], s.target_weight[tg]], axis=0, return_inverse=True
    )
    t_of = t_of.reshape(-1)
    supply = np.bincount(r_of, weights=a["supply"], minlength=len(r_nodes)).astype(np.int64)
    demand = np.bincount(t_of, weights=a["demand"], minlength=len(t_nodes)).astype(np.int64)
    # arcs: every supply node x demand node of the same key
    arc_r, arc_t = [], []
    t_key = t_nodes[:, 0].astype(np.int64)
    for k in np.unique(r_nodes[:, 0]):
        ri = np.flatnonzero(r_nodes[:, 0] == k)
        ti = np.flatnonzero(t_key == k)
        arc_r.append(np.repeat(ri, ti.size))
        arc_t.append(np.tile(ti, ri.size))
    ar, at = np.concatenate(arc_r), np.concatenate(arc_t)
    w, by = t_nodes[at, 2], t_nodes[at, 1]
    cost = np.rint(w * np.maximum(r_nodes[ar, 1] - by, 0)).astype(np.int64)
    never = np.rint(t_nodes[:, 2] * (a["never_day"] - t_nodes[:, 1])).astype(np.int64)
    return {
        "supply": supply,
        "demand": demand,
        "arc_r": ar,
        "arc_t": at,
        "cost": cost,
        "never_cost": never,
        "fixed": a["fixed"],
    }


DENSE = FleetSize("dense", 20_000, 2_000, 20, 2_000, 1, 730, 20)
"""One pool of every org, one SKU: 20,000 lots in one (pool, SKU) block."""


def dense_fleet(seed: int) -> PlanningSnapshot:
    """The :data:`DENSE` fleet with every org in one pool."""
    s = make_fleet(DENSE, seed)
    return replace(s, org_pool=np.zeros_like(s.org_pool), pools=("all",))


def peers(s: PlanningSnapshot, size: str, repeat: int, report: Callable[..., None]) -> None:
    """``optimal`` against OR-Tools (aggregated and lot x target) and HiGHS, same run."""
    secs_p, cpu_p, planned = best_cpu(repeat, partial(plan, s, PolicyName.OPTIMAL))
    opt = planned.objective
    report(size, "optimal (planner)", secs_p, f"CPU {cpu_p * 1000:.1f} ms; objective {opt:.6g}")
    arcs = transport_arcs(s)
    agg = aggregate_arcs(s, arcs)

    def same(obj: float) -> bool:
        return abs(obj - opt) <= 1e-6 * max(1.0, abs(opt))

    for what, inst, fn in (
        ("OR-Tools aggregated", agg, ortools_transport),
        ("OR-Tools lot x target", arcs, ortools_transport),
        ("HiGHS lot x target", arcs, highs_transport),
    ):
        limit = 500_000 if what.startswith("HiGHS") else 5_000_000
        if inst["arc_r"].size > limit:
            report(size, f"optimal, {what}", float("nan"), f"skipped: {inst['arc_r'].size} arcs")
            continue  # minutes or memory; the aggregated OR-Tools peer is the reference
        secs, cpu, obj = best_cpu(repeat, partial(fn, inst))
        report(
            size,
            f"optimal, {what}",
            secs,
            f"planner/peer wall {secs_p / secs:.2f}, CPU {cpu_p / cpu:.2f}; "
            f"{int(inst['arc_r'].size)} arcs; "
            f"objective {obj:.6g}; equal: {same(obj)}",
        )


def accepting(s: PlanningSnapshot, size: str, repeat: int, report: Callable[..., None]) -> None:
    """``optimal`` when every target accepts every other SKU (issue 13): one LP per
    pool instead of per (pool, SKU), against the same fleet without accepts. No peer
    here (the peers' instances pair a lot only with targets of its SKU)."""
    n_sku = len(s.skus)
    others = np.array(
        [[k for k in range(n_sku) if k != own] for own in s.target_sku.tolist()], dtype=np.int64
    ).reshape(s.target_qty.size, n_sku - 1)
    accepts = replace(s, target_accepts=others)
    secs_0, plain = best_of(repeat, partial(plan, s, PolicyName.OPTIMAL))
    secs_a, joint = best_of(repeat, partial(plan, accepts, PolicyName.OPTIMAL))
    report(
        size,
        "optimal, all accept all SKUs",
        secs_a,
        f"x{secs_a / max(secs_0, 1e-9):.2f} the plan without accepts; objective "
        f"{joint.objective:.6g} (without accepts {plain.objective:.6g})",
    )


# --------------------------------------------------------------------------- main


def power_capped(s: PlanningSnapshot, seed: int) -> PlanningSnapshot:
    """``s`` with one site per org whose power steps up four times over the horizon.

    Each site ends able to run about 60% of the units its org is ever supplied
    (so the cap binds), by Epoch AI's method at the default overhead and PUE.
    """
    rng = np.random.default_rng(seed)
    skus = tuple(Sku(id=k, tdp_w=700.0, h100e=1.0) for k in s.skus)
    per_org = np.bincount(s.supply_holder, weights=s.supply_qty, minlength=len(s.orgs))
    watts = 700.0 * 1.82 * 1.2
    span = (s.horizon_end - s.as_of).days
    sites = []
    for o, org in enumerate(s.orgs):
        full = 0.6 * float(per_org[o]) * watts / 1e6
        days = sorted(rng.choice(np.arange(-365, span), size=4, replace=False).tolist())
        steps = tuple(
            PowerStep(s.as_of + timedelta(days=int(d)), round(full * (i + 1) / 4, 3))
            for i, d in enumerate(days)
        )
        sites.append(Site(id=f"site-{org}", org=org, power=steps))
    scenario = Scenario(name="bench", as_of=s.as_of, skus=skus, sites=tuple(sites))
    return with_sites(s, scenario)


def run(sizes: list[str], repeat: int, seed: int, dense: bool = True) -> list[dict[str, Any]]:
    """Measure and print; return the result rows."""
    out: list[dict[str, Any]] = []

    def report(size: str, what: str, seconds: float, note: str = "") -> None:
        aim = AIMS.get((size, what))
        flag = "" if aim is None else (f" (aim < {aim:g}s: {'met' if seconds < aim else 'MISSED'})")
        print(f"{size:12s} {what:28s} {seconds * 1000:10.1f} ms{flag} {note}", flush=True)
        out.append({"size": size, "what": what, "seconds": seconds, "aim": aim, "note": note})

    for size in sizes:
        t = time.perf_counter()
        s = make_fleet(size, seed)
        report(
            size,
            "generate fleet",
            time.perf_counter() - t,
            f"{s.supply_qty.size} lots, {s.target_qty.size} targets, {len(s.consumers)} consumers",
        )
        plans = {}
        for policy in PolicyName:
            reps = 1 if (policy is PolicyName.OPTIMAL and size == "world") else repeat
            secs, plans[policy] = best_of(reps, partial(plan, s, policy))
            report(size, str(policy), secs, f"objective {plans[policy].objective:.6g}")
        # a plan with power caps against the same plan uncapped
        t = time.perf_counter()
        capped = power_capped(s, seed)
        report(size, "attach power caps", time.perf_counter() - t, f"{len(s.orgs)} sites")
        for policy in (PolicyName.CONSIGNED, PolicyName.PRIORITY):
            secs_u, _ = best_of(repeat, partial(plan, s, policy))
            secs_c, p = best_of(repeat, partial(plan, capped, policy))
            short = int((p.holdings - p.powered).sum())
            ratio = secs_c / max(secs_u, 1e-9)
            ok = "met" if ratio <= POWER_CAP_RATIO_MAX else "MISSED"
            report(
                size,
                f"{policy}, power-capped",
                secs_c,
                f"x{ratio:.2f} the uncapped plan (aim <= {POWER_CAP_RATIO_MAX:g}x: {ok}); "
                f"{short:,} unit-days held but not powered",
            )
        # priority against a pure-Python loop
        secs_py, done = best_of(1, partial(python_priority, s))
        same = done == plans[PolicyName.PRIORITY].target_completed_day.tolist()
        ratio = secs_py / max(best_of(1, partial(plan, s, PolicyName.PRIORITY))[0], 1e-9)
        report(
            size,
            "priority, pure-Python loop",
            secs_py,
            f"x{ratio:.1f} the planner; same completions: {same}",
        )
        if size == "company":
            lot = next(
                i for i in range(s.supply_qty.size) if s.supply_kind[i] == SupplyKind.IN_TRANSIT
            )
            holder = s.orgs[int(s.supply_holder[lot])]
            other = next(o for o in s.orgs if o != holder)
            change = DivertChange(
                s.supply_id[lot],
                int(s.supply_qty[lot]),
                holder,
                other,
                s.as_of + timedelta(days=1),
            )
            for policy in (PolicyName.CONSIGNED, PolicyName.PRIORITY):
                secs, _ = best_of(repeat, partial(impact, s, change, policy))
                report(
                    size, "impact" if policy is PolicyName.CONSIGNED else "impact (priority)", secs
                )
        if size in ("hyperscaler", "world"):
            peers(s, size, 1 if size == "world" else repeat, report)
            accepting(s, size, 1 if size == "world" else repeat, report)
    if dense:
        s = dense_fleet(seed)
        peers(s, "dense", repeat, report)
    return out


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-dense", action="store_true", help="skip the dense instance")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()
    sizes = [x.strip() for x in args.sizes.split(",") if x.strip()]
    rows = run(sizes, args.repeat, args.seed, not args.no_dense)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
