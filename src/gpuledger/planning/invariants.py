"""What every plan must satisfy, checked where plans are made (always on, cheap).

Checked by :func:`check_plan` on every plan :func:`~gpuledger.planning.plan` and
:func:`~gpuledger.planning.keep_past.plan_from` return. A failure is a bug in the
planner, never bad input, so it raises ``AssertionError`` (explicitly: these
checks also run under ``python -O``):

1. Assignment pieces are positive, of the target's SKU, within the horizon, and
   never arrive before their supply row does.
2. Per supply row, the units held by targets (assigned minus released) are
   between 0 and the row's quantity: nothing is handed out twice.
3. Per (pool, SKU), the units held by targets never exceed the pool's supply.
4. Per target, the units it holds are never negative, and in a plan that keeps
   no past (no releases) never exceed its need.
5. Holdings are never negative, and holdings plus the units released so far are
   non-decreasing day by day: curves only drop where a release says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gpuledger.planning.policies._base import allowed

if TYPE_CHECKING:
    from gpuledger.planning.plan import Plan

__all__ = ["check_plan"]


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(f"plan invariant violated: {what}")


def check_plan(p: Plan) -> None:
    """Raise AssertionError naming the first invariant ``p`` violates (see the module)."""
    s = p.snapshot
    a, r = p.assigned, p.released
    n_rows, n_targets = s.supply_qty.size, s.target_qty.size
    # 1. The pieces themselves.
    _require(bool(np.all(a.qty > 0)) and bool(np.all(r.qty > 0)), "a piece of 0 or fewer units")
    _require(bool(np.all(allowed(s, a.row, a.target))), "a piece of a SKU not accepted")
    _require(bool(np.all(a.day >= s.supply_day[a.row])), "a piece before its row arrives")
    _require(bool(np.all(a.day <= s.horizon_day)), "a piece after the horizon")
    # 2. Per supply row: held by targets between 0 and the row's quantity.
    held_r = r.target >= 0
    per_row = np.bincount(a.row, weights=a.qty, minlength=n_rows) - np.bincount(
        r.row[held_r], weights=r.qty[held_r], minlength=n_rows
    )
    _require(bool(np.all(per_row >= 0)), "a supply row released more than it assigned")
    _require(bool(np.all(per_row <= np.maximum(s.supply_qty, 0))), "a row assigned beyond its qty")
    # 3. Per (pool, SKU): never more than the pool's supply.
    n_sku = len(s.skus)
    pool_key = s.org_pool[s.supply_holder] * n_sku + s.supply_sku
    n_keys = int(pool_key.max(initial=0)) + 1
    supply = np.bincount(pool_key, weights=np.maximum(s.supply_qty, 0), minlength=n_keys)
    used = np.bincount(pool_key, weights=per_row, minlength=n_keys)
    _require(bool(np.all(used <= supply)), "a pool assigned beyond its supply")
    # 4. Per target.
    per_target = np.bincount(a.target, weights=a.qty, minlength=n_targets) - np.bincount(
        r.target[held_r], weights=r.qty[held_r], minlength=n_targets
    )
    _require(bool(np.all(per_target >= 0)), "a target holding fewer than 0 units")
    if r.qty.size == 0 and p.past_kept_before is None:
        _require(bool(np.all(per_target <= p.target_need)), "a target assigned beyond its need")
    # 5. Curves: never negative; only releases make them drop.
    _require(bool(np.all(p.holdings >= 0)), "negative holdings")
    gross = p.holdings + _released_so_far(p) if r.qty.size else p.holdings
    rising = np.all(gross[..., 1:] >= gross[..., :-1])
    _require(bool(rising), "a holdings curve drops with no release")


def _released_so_far(p: Plan) -> np.ndarray:
    """Per (consumer, SKU, day) the units released up to that day (0 without releases)."""
    out = np.zeros_like(p.holdings)
    r = p.released
    if r.qty.size == 0:
        return out
    s = p.snapshot
    n_orgs = len(s.orgs)
    held = r.target >= 0
    t = r.target[held]
    cons = [s.consumer_org[s.target_consumer[t]], s.supply_holder[r.row[~held]]]
    skus = [s.target_sku[t], s.supply_sku[r.row[~held]]]
    cols = [r.day[held] - p.day0, r.day[~held] - p.day0]
    qty = [r.qty[held], r.qty[~held]]
    cl = s.target_consumer[t] >= n_orgs
    cons.append(s.target_consumer[t][cl])
    skus.append(s.target_sku[t][cl])
    cols.append((r.day[held] - p.day0)[cl])
    qty.append(r.qty[held][cl])
    c, k, d, q = (np.concatenate(x) for x in (cons, skus, cols, qty))
    keep = (d >= 0) & (d < p.n_days)
    np.add.at(out, (c[keep], k[keep], d[keep]), q[keep])
    out = np.cumsum(out, axis=2)
    return out
