"""Where undeliverable alerts go: the flow store when it can keep them, else a JSONL file.

The store path is the :class:`horizon_flow_core.components.DeadLetterStore`
capability (the SQLite store has it). Without it, dead letters are appended
to ``<data_dir>/alerts/dead_letters.jsonl``, which offers the same three
methods, so ``flow alerts retry`` works on either. The file is append-only:
a resend appends a ``{"resent": id, "wall_ns": ...}`` line rather than
rewriting history.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson

DEAD_LETTER_FILE = Path("alerts") / "dead_letters.jsonl"


def supports_dead_letters(store: Any) -> bool:
    return store is not None and all(
        callable(getattr(store, m, None))
        for m in ("add_dead_letter", "dead_letters", "mark_dead_letter_resent"))


class JsonlDeadLetters:
    """A :class:`DeadLetterStore` in one append-only JSON Lines file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = f"jsonl:{self.path}"
        self._lock = threading.Lock()
        self._next_id = 1 + sum(1 for rec in self._lines() if "id" in rec)

    def _lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        with self.path.open("rb") as fh:
            for raw in fh:
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    rec = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue  # a torn last line after a crash; the rest stays readable
                if isinstance(rec, dict):
                    out.append(rec)
        return out

    def _append(self, rec: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as fh:
            fh.write(orjson.dumps(rec, option=orjson.OPT_SORT_KEYS) + b"\n")

    def add_dead_letter(self, route: str, payload: dict[str, Any], error: str,
                        wall_ns: int) -> int:
        with self._lock:
            dl_id = self._next_id
            self._next_id += 1
            self._append({"id": dl_id, "route": route, "payload": payload, "error": error,
                          "wall_ns": int(wall_ns)})
            return dl_id

    def dead_letters(self, route: str | None = None, *, include_resent: bool = False
                     ) -> list[dict[str, Any]]:
        with self._lock:
            lines = self._lines()
        resent = {int(r["resent"]): int(r.get("wall_ns", 0)) for r in lines if "resent" in r}
        out = []
        for r in lines:
            if "id" not in r or (route is not None and r.get("route") != route):
                continue
            done = resent.get(int(r["id"]))
            if done is not None and not include_resent:
                continue
            out.append({"id": int(r["id"]), "route": r.get("route", ""),
                        "payload": r.get("payload", {}), "error": r.get("error", ""),
                        "wall_ns": int(r.get("wall_ns", 0)), "resent_wall_ns": done})
        return sorted(out, key=lambda d: d["id"])

    def mark_dead_letter_resent(self, dead_letter_id: int, wall_ns: int) -> None:
        with self._lock:
            self._append({"resent": int(dead_letter_id), "wall_ns": int(wall_ns)})
