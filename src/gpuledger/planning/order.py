"""The serving order: in which order targets are served, and what each one asks for.

Targets are cumulative holdings ("hold 85,000 by 2024-12-31"), so within a family
(an org and its clusters) and SKU they overlap. The planner turns them into
increments, once, here; every policy and the forecast's batch kernel use this
module (never a copy of it).

- **Fill order**: (priority, by, id); ``rank[i]`` is target ``i``'s position in it.
- **Needs** (*choice*, making cumulative targets additive): within a family and
  SKU, in fill order, an org target asks for ``max(0, qty - units its family
  already asks for)``; a cluster target for ``max(0, qty - units that cluster
  already asks for)`` (which also count for the family). So an 85,000 org target
  after a 50,000 cluster target asks for 35,000 more, and a target already implied
  by an earlier one asks for nothing. Needs never sum, within a family and SKU, to
  more than the largest cumulative quantity along that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gpuledger.planning.snapshot import IntArray, PlanningSnapshot

__all__ = ["ServingOrder", "compute_needs", "fill_order", "id_rank", "serving_order"]


@dataclass(frozen=True)
class ServingOrder:
    """Each target's place in the serving order and its increment (its need).

    Attributes:
        idrank: rank of each target's id in sorted order (ties impossible).
        rank: rank of each target in fill order (priority, by, id).
        need: units each target asks for beyond what earlier targets of its
            family ask for (see the module docstring).
    """

    idrank: IntArray
    rank: IntArray
    need: IntArray


def id_rank(ids: Sequence[str]) -> IntArray:
    """Rank of each id in sorted order (ties impossible: ids are unique)."""
    order = np.argsort(np.array(ids, dtype=object), kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def fill_order(snapshot: PlanningSnapshot, idrank: IntArray) -> IntArray:
    """Target rows sorted by (priority, by, id): the order targets are served."""
    return np.lexsort((idrank, snapshot.target_by, snapshot.target_priority)).astype(np.int64)


def compute_needs(snapshot: PlanningSnapshot, rank: IntArray) -> IntArray:
    """Each target's increment within its family and SKU (see the module docstring)."""
    s = snapshot
    n_orgs = len(s.orgs)
    family = s.consumer_org[s.target_consumer]
    order = np.lexsort((rank, s.target_sku, family))
    need = np.zeros(len(s.target_id), dtype=np.int64)
    fam_total: dict[tuple[int, int], int] = {}
    cl_total: dict[tuple[int, int], int] = {}
    for i in order.tolist():
        c, k, q = int(s.target_consumer[i]), int(s.target_sku[i]), int(s.target_qty[i])
        fk = (int(family[i]), k)
        if c < n_orgs:
            n = max(0, q - fam_total.get(fk, 0))
        else:
            n = max(0, q - cl_total.get((c, k), 0))
            cl_total[(c, k)] = cl_total.get((c, k), 0) + n
        fam_total[fk] = fam_total.get(fk, 0) + n
        need[i] = n
    return need


def serving_order(snapshot: PlanningSnapshot) -> ServingOrder:
    """The fill order and needs of a snapshot's targets (never mutates it)."""
    idrank = id_rank(snapshot.target_id)
    order = fill_order(snapshot, idrank)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return ServingOrder(idrank=idrank, rank=rank, need=compute_needs(snapshot, rank))
