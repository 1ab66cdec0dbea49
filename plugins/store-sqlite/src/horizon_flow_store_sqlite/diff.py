"""``flow diff A B``: findings in one store and not the other (threshold regressions).

Findings are matched by their content-derived id (detector, category, venue,
market, actor, time, evidence), which does not include the ingest ``seq``: a
replay and the live daemon that saw the same events agree on ids. A finding
with the same id but a different severity, confidence, message or citation
is reported as changed. Both stores are streamed in id order and merged, so
memory holds only the differences.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import attrs

from horizon_flow_core.components import FindingQuery
from horizon_flow_core.findings import AnomalyFinding

from .flow_store import SQLiteFlowStore
from .lookup import reading
from .records import FINDING_COLUMNS, row_to_finding

_COMPARED = ("severity", "confidence", "message", "citation")
_ID = FINDING_COLUMNS.index("id")


def _order(f: AnomalyFinding) -> tuple[int, int, str]:
    return (f.ts, f.seq, f.id)


@attrs.frozen
class FindingsDiff:
    only_a: tuple[AnomalyFinding, ...]
    only_b: tuple[AnomalyFinding, ...]
    changed: tuple[tuple[AnomalyFinding, AnomalyFinding], ...]
    common: int

    @property
    def identical(self) -> bool:
        return not (self.only_a or self.only_b or self.changed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``only_a``/``only_b`` lists of finding dicts, ``changed`` pairs."""
        return {
            "only_a": [f.to_dict() for f in self.only_a],
            "only_b": [f.to_dict() for f in self.only_b],
            "changed": [{"id": a.id, "a": {k: getattr(a, k) for k in _COMPARED},
                         "b": {k: getattr(b, k) for k in _COMPARED}} for a, b in self.changed],
            "common": self.common,
        }


def diff_findings(a: SQLiteFlowStore | str | os.PathLike[str],
                  b: SQLiteFlowStore | str | os.PathLike[str],
                  query: FindingQuery | None = None) -> FindingsDiff:
    """Compare the findings of two stores (paths, URLs or open stores) under ``query``.

    ``query.limit`` is ignored (a diff over a truncated set would be wrong).
    Results are ordered by (ts, seq, id).
    """
    q = attrs.evolve(query or FindingQuery(), limit=0)
    with reading(a) as store_a, reading(b) as store_b:
        return _merge(store_a.finding_rows(q, order="id"), store_b.finding_rows(q, order="id"))


def _merge(rows_a: Iterator[tuple[Any, ...]], rows_b: Iterator[tuple[Any, ...]]) -> FindingsDiff:
    only_a: list[AnomalyFinding] = []
    only_b: list[AnomalyFinding] = []
    changed: list[tuple[AnomalyFinding, AnomalyFinding]] = []
    common = 0
    ra, rb = next(rows_a, None), next(rows_b, None)
    while ra is not None or rb is not None:
        if rb is None or (ra is not None and ra[_ID] < rb[_ID]):
            assert ra is not None
            only_a.append(row_to_finding(ra))
            ra = next(rows_a, None)
        elif ra is None or rb[_ID] < ra[_ID]:
            only_b.append(row_to_finding(rb))
            rb = next(rows_b, None)
        else:
            fa, fb = row_to_finding(ra), row_to_finding(rb)
            if any(getattr(fa, k) != getattr(fb, k) for k in _COMPARED):
                changed.append((fa, fb))
            else:
                common += 1
            ra, rb = next(rows_a, None), next(rows_b, None)
    only_a.sort(key=_order)
    only_b.sort(key=_order)
    changed.sort(key=lambda pair: _order(pair[0]))
    return FindingsDiff(tuple(only_a), tuple(only_b), tuple(changed), common)
