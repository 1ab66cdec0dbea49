"""The audit log is never behind the flow store: a store flush carries the audit log first.

The engine records each finding and profile in the audit log before buffering
it in the store, so when that very write fills a store batch (and the store's
``before_flush`` flushes the audit log), the record is already in it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from horizon_flow_store_sqlite import SQLiteAuditSink, SQLiteFlowStore

from horizon_flow_core import AnomalyFinding
from horizon_flow_core.audit import AuditLog
from horizon_flow_core.engine import FlowEngine
from horizon_flow_core.events import MarketEvent
from horizon_flow_core.profiles import ActorProfile
from horizon_flow_core.testing import FeedBuilder


class EveryCancel:
    name = "every_cancel"
    kinds = frozenset({"order.canceled"})

    def on_event(self, ev: MarketEvent, ctx: object) -> list[AnomalyFinding]:
        return [AnomalyFinding.make(detector=self.name, category="spoofing", severity="low",
                                    confidence=0.5, market_id=ev.market_id,
                                    actor_id=ev.actor_id, message="cancel", citation="test",
                                    evidence={"order": ev.order_id})]


class EveryPlacement:
    """A profiler that returns a profile on every placement."""

    name = "every_placement"
    kinds = frozenset({"order.placed"})

    def observe(self, ev: MarketEvent, seq: int) -> ActorProfile:
        return ActorProfile(venue=ev.venue, actor_id=ev.actor_id or "", event_count=seq,
                            features={"seq": seq}, taxonomy={"small": 1.0},
                            last_updated_seq=seq, ts=ev.ts)

    def profile(self, venue: str, actor_id: str) -> None:
        return None


def _count(path: Path, sql: str) -> int:
    # a second connection sees only what is committed
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_every_committed_finding_and_profile_is_already_audited(tmp_path: Path) -> None:
    flow, audit_db = tmp_path / "flow.db", tmp_path / "audit.db"
    # a store batch of one: every write flushes at once; the audit log would
    # otherwise hold its records for 256 records or a quarter of a second
    store = SQLiteFlowStore(f"sqlite:///{flow}?batch_size=1&flush_timer=false")
    audit = AuditLog(SQLiteAuditSink(str(audit_db)), batch_size=10_000, flush_interval_s=3600)
    engine = FlowEngine(detectors=[EveryCancel()], profilers=[EveryPlacement()], audit=audit)
    engine.set_store(store)
    fb = FeedBuilder(step_ms=1)
    for i in range(5):
        fb.cancel(f"actor{i}", fb.place(f"actor{i}", "buy", 0.5, 10))
    for n, ev in enumerate(fb.events, start=1):
        engine.ingest(ev)
        stored = (_count(flow, "SELECT count(*) FROM findings"),
                  _count(flow, "SELECT count(*) FROM actor_profiles"))
        audited = (_count(audit_db, "SELECT count(*) FROM audit WHERE category IN "
                                    "('flow.anomaly', 'bot.detected')"),
                   _count(audit_db, "SELECT count(*) FROM audit "
                                    "WHERE category = 'actor.profiled'"))
        assert stored == ((n // 2), (n + 1) // 2), f"after event {n}"
        assert audited >= stored, f"after event {n}: store {stored} ahead of audit {audited}"
    engine.close()
