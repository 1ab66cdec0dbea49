"""``flow health``: is the daemon doing its job? One line per check, and an exit code.

The daemon writes its status (``data/flow.status.json``, atomically, every
``status_interval_s``): per venue the wall time of its last frame and event,
its source's state and its queue depth; the store's and the audit chain's
condition. The checks read that file and also look at the store and the
audit log directly, so a daemon that hangs (status file no longer updated)
or a store that became unwritable is caught even if the daemon cannot say so.

Checks (``OK``, ``WARN`` or ``FAIL``; any FAIL makes the exit code 1):

* ``daemon``: the status file exists, is recent, says ``running``, and its
  process is alive;
* ``feed <venue>``: a frame arrived within ``feed_stale_after_s`` and the
  source is running;
* ``queue <venue>``: the engine queue is below ``queue_backed_up_fraction``;
* ``store``: the flow store can take a write lock (SQLite files: ``BEGIN
  IMMEDIATE`` then rollback, nothing written) and the daemon's last flush
  worked;
* ``audit chain``: the daemon's last verification passed and the newest
  records of the audit log verify now;
* ``components``: quarantined components (WARN).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs

from ..audit.chain import verify_chain
from ..jsonio import JSONDecodeError, loads
from ..stores.resolve import open_audit_sink, store_scheme

OK, WARN, FAIL = "OK", "WARN", "FAIL"
TAIL_RECORDS = 1000


@attrs.frozen
class Check:
    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


def read_status(path: str | Path) -> dict[str, Any] | None:
    try:
        data = loads(Path(path).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable status file: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: status file is not a JSON object")
    return data


def _age_s(now_ns: int, then_ns: Any) -> float | None:
    if not isinstance(then_ns, int) or then_ns <= 0:
        return None
    return max(0.0, (now_ns - then_ns) / 1e9)


def _pid_alive(pid: Any) -> bool | None:
    if not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user (flow health run as a monitor user)
    except OSError:
        return None
    return True


# --------------------------------------------------------------------------- from the status


def status_checks(status: dict[str, Any] | None, path: Path, now_ns: int) -> list[Check]:
    if status is None:
        return [Check("daemon", FAIL, f"no status file at {path} (is `flow run` running, with "
                                      "the same [daemon] data_dir?)")]
    out: list[Check] = []
    interval = float(status.get("status_interval_s") or 5.0)
    age = _age_s(now_ns, status.get("updated_wall_ns"))
    state = status.get("state")
    alive = _pid_alive(status.get("pid")) if status.get("host") in (None, os.uname().nodename) \
        else None
    limit = max(3 * interval, interval + 10.0)
    if state != "running":
        out.append(Check("daemon", FAIL, f"state is {state!r}, not running (pid "
                                         f"{status.get('pid')})"))
    elif alive is False:
        out.append(Check("daemon", FAIL, f"pid {status.get('pid')} is gone but the status "
                                         "file says running (killed or crashed)"))
    elif age is None or age > limit:
        out.append(Check("daemon", FAIL, f"status file not updated for "
                                         f"{'ever' if age is None else f'{age:.1f} s'} "
                                         f"(limit {limit:.0f} s): the daemon is hung"))
    else:
        out.append(Check("daemon", OK, f"running, pid {status.get('pid')}, status "
                                       f"{age:.1f} s old"))
    running = state == "running"
    stale_after = float(status.get("feed_stale_after_s") or 120.0)
    fraction = float(status.get("queue_backed_up_fraction") or 0.8)
    venues = status.get("venues") or {}
    for name in sorted(venues):
        v = venues[name] if isinstance(venues[name], dict) else {}
        last = v.get("last_frame_wall_ns") or v.get("started_wall_ns")
        fage = _age_s(now_ns, last)
        limit_s = float(v.get("stale_after_s") or stale_after)
        src = v.get("source_state")
        if not running:
            out.append(Check(f"feed {name}", FAIL, "daemon not running"))
        elif src not in ("running", "starting"):
            err = v.get("last_error")
            out.append(Check(f"feed {name}", FAIL, f"source {src}" + (f": {err}" if err else "")))
        elif fage is None or fage > limit_s:
            out.append(Check(f"feed {name}", FAIL,
                             f"no frame for {'ever' if fage is None else f'{fage:.1f} s'} "
                             f"(limit {limit_s:g} s)"))
        else:
            out.append(Check(f"feed {name}", OK, f"last frame {fage:.1f} s ago, "
                                                 f"{v.get('events_ingested', 0)} events"))
        depth, cap = v.get("queue_depth"), v.get("queue_capacity")
        if isinstance(depth, int) and isinstance(cap, int) and cap > 0:
            if running and depth >= fraction * cap:
                out.append(Check(f"queue {name}", FAIL, f"{depth} of {cap} batches waiting: "
                                                        "the engine is not keeping up"))
            else:
                out.append(Check(f"queue {name}", OK, f"{depth} of {cap} batches waiting"))
    store = status.get("store") or {}
    if store.get("last_error"):
        out.append(Check("store (daemon)", FAIL, f"last flush failed: {store['last_error']}"))
    audit = status.get("audit") or {}
    if audit.get("chain_ok") is False:
        out.append(Check("audit chain (daemon)", FAIL,
                         f"verification failed: {audit.get('problem')}"))
    quarantined = [c for c in status.get("quarantined") or [] if isinstance(c, str)]
    if quarantined:
        out.append(Check("components", WARN, f"quarantined: {', '.join(sorted(quarantined))}"))
    return out


# --------------------------------------------------------------------------- direct


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite store URL or bare path; None for other backends or memory."""
    scheme = store_scheme(url)
    if scheme is None:
        return None if url == ":memory:" else Path(url).expanduser()
    if scheme != "sqlite":
        return None
    parts = urlsplit(url)
    path = unquote(parts.path)
    if path.startswith("/"):
        path = path[1:]  # sqlite:///rel -> rel, sqlite:////abs -> /abs
    if not path or path == ":memory:":
        return None
    return Path(path)


def store_check(url: str, timeout_s: float = 2.0) -> Check:
    """Can the flow store take a write now? (SQLite: a RESERVED lock, then rollback.)"""
    path = sqlite_file(url)
    if path is None:
        return Check("store", OK, f"{url}: not a SQLite file; relying on the daemon's report")
    if not path.exists():
        return Check("store", FAIL, f"{path}: does not exist")
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        return Check("store", FAIL, f"{path}: not writable by this user (file or directory)")
    try:
        conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check("store", FAIL, f"{path}: cannot take a write lock: {exc}")
    return Check("store", OK, f"{path}: writable")


def audit_check(url: str, pm: Any) -> Check:
    """The newest ``TAIL_RECORDS`` records of the audit log verify."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return Check("audit chain", FAIL, f"{path}: does not exist")
    try:
        sink = open_audit_sink(url, pm)
    except Exception as exc:
        return Check("audit chain", FAIL, f"{url}: cannot open: {exc}")
    try:
        head = sink.head()
        if head is None:
            return Check("audit chain", OK, f"{url}: empty")
        start = max(1, head[0] - TAIL_RECORDS + 1)
        n, problem = verify_chain(sink.records(start))
    except Exception as exc:
        return Check("audit chain", FAIL, f"{url}: cannot read: {exc}")
    finally:
        sink.close()
    if problem is not None:
        return Check("audit chain", FAIL, f"{url}: {problem}")
    return Check("audit chain", OK, f"{url}: last {n} records verify (head {head[0]})")


def run_checks(status_path: Path, flow_url: str | None, audit_url: str | None, pm: Any, *,
               now: Callable[[], int] = time.time_ns) -> list[Check]:
    try:
        status = read_status(status_path)
    except ValueError as exc:
        checks = [Check("daemon", FAIL, str(exc))]
    else:
        checks = status_checks(status, status_path, now())
    if flow_url:
        checks.append(store_check(flow_url))
    if audit_url:
        checks.append(audit_check(audit_url, pm))
    return checks


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status == FAIL for c in checks) else 0
