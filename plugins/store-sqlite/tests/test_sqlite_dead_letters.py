"""Dead letters: undeliverable alerts kept for resending (the DeadLetterStore capability)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from horizon_flow_store_sqlite import SQLiteFlowStore

from horizon_flow_core.errors import StoreError


def test_add_list_retry_and_mark_resent(tmp_path: Path) -> None:
    db = tmp_path / "flow.db"
    with SQLiteFlowStore(db) as store:
        a = store.add_dead_letter("slack-desk", {"title": "spoofing", "finding_id": "f1"},
                                  "HTTP 503", wall_ns=100)
        b = store.add_dead_letter("email", {"title": "wash", "finding_id": "f2"},
                                  "SMTP refused", wall_ns=200)
        c = store.add_dead_letter("slack-desk", {"title": "layering", "finding_id": "f3"},
                                  "timeout", wall_ns=300)
        assert [d["id"] for d in store.dead_letters()] == [a, b, c]
        assert [d["id"] for d in store.dead_letters("slack-desk")] == [a, c]
        store.record_dead_letter_attempt(a, "HTTP 502", wall_ns=400)
        store.mark_dead_letter_resent(c, wall_ns=500)
    with SQLiteFlowStore(db, read_only=True) as store:  # persisted
        pending = store.dead_letters("slack-desk")
        assert [(d["id"], d["attempts"], d["error"], d["payload"]) for d in pending] == [
            (a, 2, "HTTP 502", {"title": "spoofing", "finding_id": "f1"})]
        everything = store.dead_letters(include_resent=True)
        assert [(d["id"], d["resent_wall_ns"]) for d in everything] == [
            (a, None), (b, None), (c, 500)]
        assert store.summary()["dead_letters_pending"] == 2


def test_unknown_dead_letter_is_a_clear_error(tmp_path: Path) -> None:
    with SQLiteFlowStore(tmp_path / "flow.db") as store:
        with pytest.raises(StoreError, match="no dead letter with id 42"):
            store.mark_dead_letter_resent(42, wall_ns=1)


def test_dead_letters_from_another_thread_while_findings_are_written(tmp_path: Path,
                                                                    finding) -> None:
    # Alert routes deliver from their own worker threads.
    with SQLiteFlowStore(tmp_path / "flow.db") as store:
        def router() -> None:
            for i in range(50):
                store.add_dead_letter("r", {"i": i}, "down", wall_ns=i)

        t = threading.Thread(target=router)
        t.start()
        for i in range(500):
            store.write_finding(finding(i))
        t.join()
        assert len(store.dead_letters()) == 50
        assert store.count_findings() == 500
        assert store.verify() == []
