"""Scheduled, incremental verification of the audit chain while the daemon writes it.

Each run reads only the records stored since the last verified one (the
sink's ``records(start_seq)``), checks that the first of them links to the
last verified hash, and recomputes the rest with
:func:`~horizon_flow_core.audit.chain.verify_chain`. Records still buffered
in the :class:`~horizon_flow_core.audit.chain.AuditLog` are not looked at;
they are checked on a later run once flushed. The sink serialises its own
reads and writes, and one lock here keeps two runs (scheduled and at
shutdown) from interleaving.

The result sets the ``flow_audit_chain_verify_ok`` gauge (1 or 0). A broken
chain is logged at CRITICAL and written as one ``audit.chain_failed`` record
(the chain goes on from its head, so the record itself is verifiable); it is
not repeated on every run until the chain verifies again.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from ..audit.chain import GENESIS_HASH, AuditCategory, ChainProblem, verify_chain

log = logging.getLogger("horizon_flow.daemon.audit")


@attrs.define
class ChainStatus:
    ok: bool | None = None  # None until the first run
    verified_seq: int = 0
    verified_hash: str = GENESIS_HASH
    records_checked: int = 0
    last_run_wall_ns: int = 0
    problem: str | None = None
    runs: int = 0


class ChainVerifier:
    """``run()`` verifies what was appended since the last run. Thread-safe."""

    def __init__(self, sink: Any, audit: Any = None, *, metrics: Any = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.sink = sink
        self.audit = audit
        self.metrics = metrics
        self.clock = clock
        self.status = ChainStatus()
        self._lock = threading.Lock()
        self._reported = False

    def run(self) -> bool:
        with self._lock:
            st = self.status
            problem, checked = self._verify_from(st.verified_seq, st.verified_hash)
            st.runs += 1
            st.last_run_wall_ns = self.clock()
            st.records_checked += checked
            st.ok = problem is None
            st.problem = None if problem is None else str(problem)
            if self.metrics is not None:
                self.metrics.gauge("flow_audit_chain_verify_ok",
                                   "1 when the last audit chain verification passed").set(
                    1 if st.ok else 0)
            if problem is None:
                if self._reported:
                    log.warning("audit chain verifies again up to seq %d", st.verified_seq)
                self._reported = False
                return True
        self._report(problem)
        return False

    def _verify_from(self, seq: int, prev_hash: str) -> tuple[ChainProblem | None, int]:
        st = self.status
        records = iter(self.sink.records(seq + 1))
        first = next(records, None)
        if first is None:
            return None, 0
        if not seq and first.seq != 1:
            return ChainProblem(first.seq, 0, f"the audit log starts at record {first.seq}, "
                                "expected 1 (its first records were removed)"), 1
        if seq and (first.seq != seq + 1 or first.prev_hash != prev_hash):
            return ChainProblem(first.seq, 0, f"record {first.seq} does not follow the record "
                                f"{seq} verified earlier (records removed, replaced or "
                                "reordered)"), 1
        last: list[Any] = []

        def remember(rs: Any) -> Any:
            for r in rs:
                last[:] = [r]
                yield r

        checked, problem = verify_chain(remember(itertools.chain([first], records)))
        if problem is None and last:
            st.verified_seq, st.verified_hash = last[0].seq, last[0].hash
        return problem, checked

    def _report(self, problem: ChainProblem) -> None:
        with self._lock:
            if self._reported:
                return
            self._reported = True
        log.critical("AUDIT CHAIN BROKEN: %s. Leave the audit log and the flow store as they "
                     "are (evidence) and follow the incident runbook", problem)
        if self.audit is not None:
            try:
                self.audit.record(AuditCategory.CHAIN_FAILED,
                                  {"seq": problem.seq, "reason": problem.reason,
                                   "verified_seq": self.status.verified_seq})
            except Exception as exc:
                log.error("cannot write audit.chain_failed: %s", exc)
