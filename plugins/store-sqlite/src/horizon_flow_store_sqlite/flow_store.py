"""The SQLite flow store: findings (WORM), actor profiles, clusters, policies, runs, dead letters.

Writes are buffered. ``write_finding`` and ``upsert_profile`` append to an
in-memory batch; the batch is written in ONE transaction when it reaches
``batch_size``, when its oldest entry is ``flush_interval_s`` old (checked on
every write and by a background timer), and on :meth:`flush`/:meth:`close`.
During a run over a recorded feed, profiles wait for ``replay_profile_batch``
distinct actors (or a flush of findings, or the run's end) instead of the
clock: see :class:`~horizon_flow_store_sqlite.options.SQLiteOptions`.
A transaction either commits entirely or not at all, so a crash (even
SIGKILL) loses at most the batch still in memory, never a committed one, and
leaves a consistent file. The audit log is the authority and holds every
finding too: a lost in-memory batch can be recovered with
:func:`~horizon_flow_store_sqlite.rebuild.rebuild_from_audit`.

Findings use ``INSERT OR IGNORE`` keyed on the content-derived id, so a
restarted run that re-emits a finding stores it once. The store counts the
rows it actually inserted into the current run's ``findings_new`` in the same
transaction; ``verify`` checks that these counts add up to the table.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import sqlite_utils

from horizon_flow_core.components import FindingQuery, RunCounts, RunInfo
from horizon_flow_core.errors import StoreError
from horizon_flow_core.findings import AnomalyFinding, parse_severity
from horizon_flow_core.jsonio import loads
from horizon_flow_core.profiles import ActorProfile

from .connection import open_connection
from .errors import store_error
from .options import SQLiteOptions
from .records import (
    FINDING_COLUMNS,
    PROFILE_COLUMNS,
    ClusterRecord,
    PolicyRecord,
    canonical_text,
    finding_row,
    profile_row,
    row_to_finding,
    row_to_profile,
)
from .schema import FLOW, current_version, migrate, stored_versions
from .urls import parse_store_url

log = logging.getLogger("horizon_flow.store.sqlite")

#: the run that findings written outside any begin_run/finish_run are counted against
DIRECT_RUN_ID = "direct-writes"

_FINDING_COLS = ", ".join(FINDING_COLUMNS)
_INSERT_FINDING = (f"INSERT OR IGNORE INTO findings ({_FINDING_COLS}) "
                   f"VALUES ({', '.join('?' * len(FINDING_COLUMNS))})")
_PROFILE_COLS = ", ".join(PROFILE_COLUMNS)
# A profile computed from older events never overwrites a newer one (a replay of
# last week into today's store keeps today's profiles).
_UPSERT_PROFILE = (
    f"INSERT INTO actor_profiles ({_PROFILE_COLS}) "
    f"VALUES ({', '.join('?' * len(PROFILE_COLUMNS))}) "
    "ON CONFLICT(venue, actor_id) DO UPDATE SET event_count = excluded.event_count, "
    "features = excluded.features, taxonomy = excluded.taxonomy, "
    "top_class = excluded.top_class, last_updated_seq = excluded.last_updated_seq, "
    "ts = excluded.ts WHERE excluded.ts >= actor_profiles.ts"
)
_CLUSTER_COLS = "cluster_id, venue, members, method, score, features, last_updated_seq, ts"
_POLICY_COLS = "id, venue, actor_id, model, params, ts, seq"
_RUN_COLS = ("run_id", "mode", "config_hash", "feed", "feed_sha256", "plugins",
             "started_wall_ns", "finished_wall_ns", "events", "rejects", "findings", "profiles",
             "findings_new", "profiles_written", "status")
_PAGE = 2000


@attrs.define
class FlushStats:
    """What the store's flushes did (for benchmarks, metrics and ``flow scan``'s summary)."""

    flushes: int = 0
    findings_buffered: int = 0
    findings_new: int = 0
    profiles_written: int = 0
    flush_errors: int = 0
    total_flush_s: float = 0.0
    max_flush_s: float = 0.0
    latencies_s: deque[float] = attrs.field(factory=lambda: deque(maxlen=100_000))


def _timer_loop(ref: weakref.ref[SQLiteFlowStore], stop: threading.Event,
                interval: float) -> None:
    """Flush a batch that has waited ``interval`` even when no further write comes."""
    while not stop.wait(interval):
        store = ref()
        if store is None:
            return
        store._flush_if_due()
        del store


class SQLiteFlowStore:
    """The embedded flow store. Implements ``FlowStore`` and ``DeadLetterStore``.

    ``url_or_path``: a path or ``sqlite:`` URL (see :mod:`.urls`); its query
    parameters override ``options``. ``read_only``: open for queries only
    (``mode=ro``: never creates, migrates or writes the file). ``clock``: the
    monotonic clock for time-based flushing (tests inject one).
    """

    def __init__(self, url_or_path: str | os.PathLike[str], *,
                 options: SQLiteOptions | None = None, read_only: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = os.fspath(url_or_path)
        self.location = parse_store_url(url_or_path, options)
        self.options = self.location.options
        self.read_only = read_only = read_only or self.location.read_only
        self.label = self.location.label
        if read_only and self.location.memory:
            raise StoreError("an in-memory store cannot be opened read-only")
        self._clock = clock
        self._lock = threading.RLock()
        self._conn = open_connection(self.location, read_only=read_only)
        try:
            if read_only:
                self._check_readable_schema()
            else:
                migrate(self._conn, FLOW, label=self.label)
        except BaseException:
            self._conn.close()
            raise
        self.db = sqlite_utils.Database(self._conn, recursive_triggers=False,
                                        execute_plugins=False)
        self._findings: list[tuple[Any, ...]] = []
        self._profiles: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._oldest_pending: float | None = None
        # Buffered profiles that trigger a flush: batch_size, or the larger
        # replay_profile_batch during a run over a recorded feed (_bulk), when
        # profiles alone also do not start the flush clock.
        self._profile_batch = self.options.batch_size
        self._bulk = False
        self._run_id: str | None = None
        self._closed = False
        self._timer: threading.Thread | None = None
        self._timer_stop = threading.Event()
        self._metrics: Any = None
        self.stats = FlushStats()
        #: called before each flush writes findings (the engine sets it to flush
        #: the audit log), so the authority is on disk before the view
        self.before_flush: Any = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> SQLiteFlowStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteFlowStore({self.url!r}{', read_only=True' if self.read_only else ''})"

    @property
    def path(self) -> os.PathLike[str] | None:
        return self.location.path

    @property
    def pending(self) -> int:
        """Findings and profiles buffered, not yet committed."""
        return len(self._findings) + len(self._profiles)

    def attach_metrics(self, registry: Any) -> None:
        """Report flush latency and rows written to a ``horizon_flow_core.metrics.Registry``."""
        self._metrics = registry

    def _check_readable_schema(self) -> None:
        version = stored_versions(self._conn).get(FLOW, 0)
        know = current_version(FLOW)
        if version == 0:
            raise StoreError(f"{self.label}: not a horizon-flow flow store (no flow schema)")
        if version > know:
            raise StoreError(f"{self.label}: flow schema version {version} is newer than this "
                             f"horizon-flow-store-sqlite knows ({know}); upgrade the plugin")
        if version < know:
            raise StoreError(f"{self.label}: flow schema version {version} is older than "
                             f"{know}; open it for writing once (any write command) to migrate")

    def _check_writable(self) -> None:
        if self._closed:
            raise StoreError(f"{self.label}: the store is closed")
        if self.read_only:
            raise StoreError(f"{self.label}: the store was opened read-only")

    def close(self) -> None:
        """Flush what is buffered and close. Raises StoreError if the final flush fails."""
        with self._lock:
            if self._closed:
                return
            self._timer_stop.set()
            try:
                if not self.read_only:
                    self._flush_locked()
            finally:
                self._closed = True
                self._conn.close()

    # ------------------------------------------------------------------ buffered writes

    def write_finding(self, finding: AnomalyFinding) -> None:
        """Buffer a finding. A finding without ``id`` gets its content-derived id."""
        row = finding_row(finding)
        with self._lock:
            self._check_writable()
            self._findings.append(row)
            self.stats.findings_buffered += 1
            self._after_write()

    def write_findings(self, findings: Iterator[AnomalyFinding] | list[AnomalyFinding]) -> None:
        for f in findings:
            self.write_finding(f)

    def upsert_profile(self, profile: ActorProfile) -> None:
        """Buffer a profile snapshot; per (venue, actor) the batch keeps what the table
        would: the newest by ``ts``, the later write on a tie."""
        row = profile_row(profile)
        key = (profile.venue, profile.actor_id)
        with self._lock:
            self._check_writable()
            profiles = self._profiles
            held = profiles.get(key)
            # the upsert's WHERE clause, applied in the batch too: one large batch
            # leaves the table as the same profiles flushed one at a time would
            if held is None or row[-1] >= held[-1]:
                profiles[key] = row
            if not self._bulk:
                self._after_write()
            elif len(profiles) >= self._profile_batch:
                self._flush_locked()

    def _after_write(self) -> None:
        now = self._clock()
        if self._oldest_pending is None:
            self._oldest_pending = now
            self._start_timer()
        opts = self.options
        if (len(self._findings) >= opts.batch_size or len(self._profiles) >= self._profile_batch
                or now - self._oldest_pending >= opts.flush_interval_s):
            self._flush_locked()

    def _start_timer(self) -> None:
        opts = self.options
        if self._timer is not None or not opts.flush_timer or opts.flush_interval_s <= 0:
            return
        self._timer = threading.Thread(
            target=_timer_loop, args=(weakref.ref(self), self._timer_stop, opts.flush_interval_s),
            name=f"flow-store-flush:{self.label}", daemon=True)
        self._timer.start()

    def _flush_if_due(self) -> None:
        with self._lock:
            if self._closed or self._oldest_pending is None:
                return
            if self._clock() - self._oldest_pending < self.options.flush_interval_s:
                return
            try:
                self._flush_locked()
            except StoreError as exc:
                # The batch stays buffered; the next write or flush retries it.
                log.error("%s", exc)

    def flush(self) -> None:
        """Commit everything buffered in one transaction."""
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.label}: the store is closed")
            if not self.read_only:
                self._flush_locked()

    def _flush_locked(self) -> None:
        findings, profiles = self._findings, self._profiles
        if not findings and not profiles:
            self._oldest_pending = None
            return
        if self.before_flush is not None:
            self.before_flush()
        conn = self._conn
        started = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = conn.total_changes
                if findings:
                    conn.executemany(_INSERT_FINDING, findings)
                new = conn.total_changes - before
                before = conn.total_changes
                if profiles:
                    conn.executemany(_UPSERT_PROFILE, list(profiles.values()))
                written = conn.total_changes - before
                run_id = self._run_id
                if run_id is None:
                    run_id = DIRECT_RUN_ID
                    conn.execute(
                        "INSERT OR IGNORE INTO runs (run_id, mode, config_hash, plugins, "
                        "started_wall_ns, status) VALUES (?, 'direct', '', '{}', ?, 'open')",
                        (run_id, time.time_ns()))
                conn.execute("UPDATE runs SET findings_new = findings_new + ?, "
                             "profiles_written = profiles_written + ? WHERE run_id = ?",
                             (new, written, run_id))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self.stats.flush_errors += 1
            if self._metrics is not None:
                self._metrics.counter("flow_store_flush_errors_total",
                                      "Failed flow-store flushes").inc()
            raise store_error(self.label, f"writing {len(findings)} findings and "
                              f"{len(profiles)} profiles", exc) from None
        elapsed = time.perf_counter() - started
        self._findings, self._profiles, self._oldest_pending = [], {}, None
        st = self.stats
        st.flushes += 1
        st.findings_new += new
        st.profiles_written += written
        st.total_flush_s += elapsed
        st.max_flush_s = max(st.max_flush_s, elapsed)
        st.latencies_s.append(elapsed)
        if self._metrics is not None:
            self._metrics.histogram("flow_store_flush_seconds",
                                    "Time to commit one batch to the flow store").observe(elapsed)
            self._metrics.counter("flow_store_findings_written_total",
                                  "Findings newly stored").inc(new)

    # ------------------------------------------------------------------ runs

    def begin_run(self, run: RunInfo) -> None:
        """Record a run; findings flushed from now on are counted against it.

        Beginning a run id already recorded resumes it (status back to running).
        """
        with self._lock:
            self._check_writable()
            self._flush_locked()
            plugins = canonical_text(dict(sorted(run.plugins.items())), "run plugins")
            self._execute(
                "INSERT INTO runs (run_id, mode, config_hash, feed, feed_sha256, plugins, "
                "started_wall_ns, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'running') "
                "ON CONFLICT(run_id) DO UPDATE SET status = 'running', finished_wall_ns = NULL",
                (run.run_id, run.mode, run.config_hash, run.feed, run.feed_sha256, plugins,
                 run.started_wall_ns), f"recording run {run.run_id}")
            self._run_id = run.run_id
            bulk = self.options.replay_profile_batch
            self._bulk = run.mode != "run" and bulk > 0
            self._profile_batch = bulk if self._bulk else self.options.batch_size

    def finish_run(self, run_id: str, counts: RunCounts) -> None:
        """Flush, then record the run's counts and status."""
        with self._lock:
            self._check_writable()
            self._flush_locked()
            finished = counts.finished_wall_ns or time.time_ns()
            cur = self._execute(
                "UPDATE runs SET finished_wall_ns = ?, events = ?, rejects = ?, findings = ?, "
                "profiles = ?, status = ? WHERE run_id = ?",
                (finished, counts.events, counts.rejects, counts.findings, counts.profiles,
                 counts.status, run_id), f"finishing run {run_id}")
            if cur.rowcount == 0:
                raise StoreError(f"{self.label}: no run {run_id!r} was begun in this store")
            if self._run_id == run_id:
                self._run_id = None
                self._bulk = False
                self._profile_batch = self.options.batch_size

    @property
    def current_run(self) -> str | None:
        return self._run_id

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded run, oldest first; ``plugins`` decoded."""
        rows = self._query(f"SELECT {', '.join(_RUN_COLS)} FROM runs "
                           "ORDER BY started_wall_ns, run_id", ())
        out = []
        for row in rows:
            d = dict(zip(_RUN_COLS, row, strict=True))
            d["plugins"] = loads(d["plugins"])
            out.append(d)
        return out

    def run(self, run_id: str) -> dict[str, Any] | None:
        return next((r for r in self.runs() if r["run_id"] == run_id), None)

    # ------------------------------------------------------------------ queries

    def _execute(self, sql: str, params: tuple[Any, ...], action: str) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.Error as exc:
                raise store_error(self.label, action, exc) from None

    def _query(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.label}: the store is closed")
            if not self.read_only:
                self._flush_locked()
            try:
                return self._conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise store_error(self.label, "reading", exc) from None

    @staticmethod
    def _where(query: FindingQuery) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.since_ts is not None:
            clauses.append("ts >= ?")
            params.append(int(query.since_ts))
        if query.until_ts is not None:
            clauses.append("ts < ?")
            params.append(int(query.until_ts))
        if query.categories:
            cats = sorted({str(c) for c in query.categories})
            clauses.append(f"category IN ({', '.join('?' * len(cats))})")
            params.extend(cats)
        if query.severity_min is not None:
            try:
                rank = parse_severity(query.severity_min).rank
            except ValueError as exc:
                raise StoreError(str(exc)) from None
            clauses.append("severity_rank >= ?")
            params.append(rank)
        for column in ("venue", "market_id", "actor_id", "detector"):
            value = getattr(query, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.limit < 0:
            raise StoreError(f"limit must be >= 0 (0 = all), got {query.limit}")
        return clauses, params

    def findings(self, query: FindingQuery | None = None) -> Iterator[AnomalyFinding]:
        """Findings matching ``query`` ordered by (ts, seq, id); ``limit`` 0 = all.

        ``since_ts`` is inclusive and ``until_ts`` exclusive. Rows are read in
        pages, so iterating a large store does not load it into memory.
        """
        for row in self.finding_rows(query or FindingQuery()):
            yield row_to_finding(row)

    def finding_rows(self, query: FindingQuery, *, order: str = "time"
                     ) -> Iterator[tuple[Any, ...]]:
        """Raw rows (``FINDING_COLUMNS`` order) by (ts, seq, id), or by id with ``order="id"``."""
        clauses, params = self._where(query)
        key_cols = ("ts", "seq", "id") if order == "time" else ("id",)
        key_idx = [FINDING_COLUMNS.index(c) for c in key_cols]
        remaining = query.limit or None
        after: tuple[Any, ...] | None = None
        while True:
            page_clauses = list(clauses)
            page_params = list(params)
            if after is not None:
                page_clauses.append(f"({', '.join(key_cols)}) > ({', '.join('?' * len(after))})")
                page_params.extend(after)
            where = f"WHERE {' AND '.join(page_clauses)}" if page_clauses else ""
            size = _PAGE if remaining is None else min(_PAGE, remaining)
            rows = self._query(f"SELECT {_FINDING_COLS} FROM findings {where} "
                               f"ORDER BY {', '.join(key_cols)} LIMIT {size}", page_params)
            yield from rows
            if remaining is not None:
                remaining -= len(rows)
                if remaining <= 0:
                    return
            if len(rows) < size:
                return
            after = tuple(rows[-1][i] for i in key_idx)

    def count_findings(self, query: FindingQuery | None = None) -> int:
        clauses, params = self._where(query or FindingQuery())
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return int(self._query(f"SELECT count(*) FROM findings {where}", params)[0][0])

    def summary(self) -> dict[str, Any]:
        """Row counts: findings by category and severity, profiles, runs and the rest."""
        by_cat = self._query("SELECT category, count(*) FROM findings GROUP BY category "
                             "ORDER BY category", ())
        by_sev = self._query("SELECT severity, count(*) FROM findings GROUP BY severity_rank, "
                             "severity ORDER BY severity_rank", ())
        counts = {t: int(self._query(f"SELECT count(*) FROM {t}", ())[0][0])
                  for t in ("findings", "actor_profiles", "clusters", "policies", "runs")}
        pending_dl = int(self._query("SELECT count(*) FROM dead_letters "
                                     "WHERE resent_wall_ns IS NULL", ())[0][0])
        return {**counts, "dead_letters_pending": pending_dl,
                "findings_by_category": {c: int(n) for c, n in by_cat},
                "findings_by_severity": {s: int(n) for s, n in by_sev}}

    def profiles(self, actor_id: str, venue: str | None = None) -> list[ActorProfile]:
        """The actor's profile on each venue (ordered by venue), or on ``venue`` only."""
        sql = f"SELECT {_PROFILE_COLS} FROM actor_profiles WHERE actor_id = ?"
        params: list[Any] = [actor_id]
        if venue is not None:
            sql += " AND venue = ?"
            params.append(venue)
        return [row_to_profile(r) for r in self._query(sql + " ORDER BY venue", params)]

    def iter_profiles(self, venue: str | None = None) -> Iterator[ActorProfile]:
        """Every profile, ordered by (venue, actor_id)."""
        after: tuple[str, str] | None = None
        while True:
            clauses, params = [], []
            if venue is not None:
                clauses.append("venue = ?")
                params.append(venue)
            if after is not None:
                clauses.append("(venue, actor_id) > (?, ?)")
                params.extend(after)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = self._query(f"SELECT {_PROFILE_COLS} FROM actor_profiles {where} "
                               f"ORDER BY venue, actor_id LIMIT {_PAGE}", params)
            for r in rows:
                yield row_to_profile(r)
            if len(rows) < _PAGE:
                return
            after = (rows[-1][0], rows[-1][1])

    # ------------------------------------------------------------------ clusters and policies

    def upsert_cluster(self, cluster: ClusterRecord) -> None:
        """Insert or replace a cluster by ``cluster_id`` (not on the per-event hot path)."""
        row = cluster.row()
        with self._lock:
            self._check_writable()
            self._execute(
                f"INSERT INTO clusters ({_CLUSTER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(cluster_id) DO UPDATE SET venue = excluded.venue, "
                "members = excluded.members, method = excluded.method, score = excluded.score, "
                "features = excluded.features, last_updated_seq = excluded.last_updated_seq, "
                "ts = excluded.ts", row, f"writing cluster {cluster.cluster_id}")

    def clusters(self, venue: str | None = None, actor_id: str | None = None
                 ) -> list[ClusterRecord]:
        """Clusters (ordered by id), optionally of one venue or containing one actor."""
        clauses, params = [], []
        if venue is not None:
            clauses.append("venue = ?")
            params.append(venue)
        if actor_id is not None:
            clauses.append("EXISTS (SELECT 1 FROM json_each(clusters.members) "
                           "WHERE json_each.value = ?)")
            params.append(actor_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(f"SELECT {_CLUSTER_COLS} FROM clusters {where} ORDER BY cluster_id",
                           params)
        return [ClusterRecord.from_row(r) for r in rows]

    def append_policy(self, policy: PolicyRecord) -> bool:
        """Append a policy (WORM). Returns False when the same policy was already stored."""
        row = policy.row()
        with self._lock:
            self._check_writable()
            before = self._conn.total_changes
            self._execute(f"INSERT INTO policies ({_POLICY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          row, f"writing policy {row[0]}")
            return self._conn.total_changes > before

    def policies(self, actor_id: str | None = None, venue: str | None = None
                 ) -> list[PolicyRecord]:
        clauses, params = [], []
        if actor_id is not None:
            clauses.append("actor_id = ?")
            params.append(actor_id)
        if venue is not None:
            clauses.append("venue = ?")
            params.append(venue)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(f"SELECT {_POLICY_COLS} FROM policies {where} "
                           "ORDER BY ts, seq, id", params)
        return [PolicyRecord.from_row(r) for r in rows]

    # ------------------------------------------------------------------ dead letters

    def add_dead_letter(self, route: str, payload: dict[str, Any], error: str,
                        wall_ns: int) -> int:
        """Keep an undeliverable alert; returns its id. Committed at once (not batched)."""
        body = canonical_text(payload, f"dead letter for route {route!r}: payload")
        with self._lock:
            self._check_writable()
            cur = self._execute(
                "INSERT INTO dead_letters (route, payload, error, wall_ns, attempts, "
                "last_attempt_wall_ns) VALUES (?, ?, ?, ?, 1, ?)",
                (route, body, error, int(wall_ns), int(wall_ns)),
                f"keeping a dead letter for route {route!r}")
            return int(cur.lastrowid or 0)

    def dead_letters(self, route: str | None = None, *, include_resent: bool = False
                     ) -> list[dict[str, Any]]:
        """Dead letters, oldest first; ``payload`` decoded."""
        clauses, params = [], []
        if route is not None:
            clauses.append("route = ?")
            params.append(route)
        if not include_resent:
            clauses.append("resent_wall_ns IS NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        cols = ("id", "route", "payload", "error", "wall_ns", "attempts",
                "last_attempt_wall_ns", "resent_wall_ns")
        rows = self._query(f"SELECT {', '.join(cols)} FROM dead_letters {where} ORDER BY id",
                           params)
        out = []
        for r in rows:
            d = dict(zip(cols, r, strict=True))
            d["payload"] = loads(d["payload"])
            out.append(d)
        return out

    def record_dead_letter_attempt(self, dead_letter_id: int, error: str, wall_ns: int) -> None:
        """A resend failed again: count the attempt and keep the latest error."""
        self._update_dead_letter(
            "UPDATE dead_letters SET attempts = attempts + 1, error = ?, "
            "last_attempt_wall_ns = ? WHERE id = ?", (error, int(wall_ns), dead_letter_id),
            dead_letter_id)

    def mark_dead_letter_resent(self, dead_letter_id: int, wall_ns: int) -> None:
        self._update_dead_letter(
            "UPDATE dead_letters SET resent_wall_ns = ?, last_attempt_wall_ns = ? "
            "WHERE id = ?", (int(wall_ns), int(wall_ns), dead_letter_id), dead_letter_id)

    def _update_dead_letter(self, sql: str, params: tuple[Any, ...], dl_id: int) -> None:
        with self._lock:
            self._check_writable()
            cur = self._execute(sql, params, f"updating dead letter {dl_id}")
            if cur.rowcount == 0:
                raise StoreError(f"{self.label}: no dead letter with id {dl_id}")

    # ------------------------------------------------------------------ verification

    def backup(self, dest_dir: str | os.PathLike[str]) -> Path:
        """Flush, then copy the store into ``dest_dir`` with the backup API and verify it."""
        from .backup import backup_connection

        with self._lock:
            if self._closed:
                raise StoreError(f"{self.label}: the store is closed")
            if not self.read_only:
                self._flush_locked()
            name = self.location.path.name if self.location.path is not None else "flow.db"
            return backup_connection(self._conn, self.label, dest_dir, name)

    def verify(self) -> list[str]:
        """Flush, then check the file (see :mod:`horizon_flow_store_sqlite.verify`)."""
        from .verify import verify_connection

        with self._lock:
            if self._closed:
                raise StoreError(f"{self.label}: the store is closed")
            if not self.read_only:
                self._flush_locked()
            return verify_connection(self._conn, self.label)
