"""Store URLs and paths, and the plugin's registration."""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from horizon_flow_store_sqlite import SQLiteAuditSink, SQLiteFlowStore, parse_store_url
from horizon_flow_store_sqlite.options import SQLiteOptions

from horizon_flow_core.components import FindingQuery
from horizon_flow_core.errors import StoreError


@pytest.mark.parametrize(("url", "path"), [
    ("data/flow.db", Path("data/flow.db")),
    ("/var/horizon/flow.db", Path("/var/horizon/flow.db")),
    ("sqlite:///data/flow.db", Path("data/flow.db")),
    ("sqlite:////var/horizon/flow.db", Path("/var/horizon/flow.db")),
    ("SQLITE:///data/flow.db", Path("data/flow.db")),
    ("sqlite:///my%20dir/flow.db", Path("my dir/flow.db")),
    ("my%20dir/flow.db", Path("my%20dir/flow.db")),  # a bare path is never decoded
    ("flow:1.db", Path("flow:1.db")),  # a colon in a bare name is not a scheme
])
def test_paths_and_urls_resolve_to_files(url: str, path: Path) -> None:
    loc = parse_store_url(url)
    assert loc.path == path
    assert not loc.memory
    assert loc.url == url


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", ":memory:"])
def test_memory_forms(url: str) -> None:
    assert parse_store_url(url).memory


def test_pathlike_is_taken_as_is(tmp_path: Path) -> None:
    assert parse_store_url(tmp_path / "x.db").path == tmp_path / "x.db"


def test_query_parameters_set_options() -> None:
    loc = parse_store_url("sqlite:///f.db?batch_size=7&synchronous=FULL&flush_interval_s=0.25"
                          "&flush_timer=off&busy_timeout_ms=10&max_page_count=100&cache_mb=8")
    assert loc.options == SQLiteOptions(batch_size=7, synchronous="full", flush_interval_s=0.25,
                                        flush_timer=False, busy_timeout_ms=10, cache_mb=8,
                                        max_page_count=100)
    assert loc.path == Path("f.db")


@pytest.mark.parametrize(("url", "needle"), [
    ("sqlite://host/flow.db", "no host"),
    ("sqlite:flow.db", "expected sqlite:///"),
    ("sqlite:///f.db?batch=3", "unknown store option 'batch'"),
    ("sqlite:///f.db?batch_size=0", "batch_size must be an integer >= 1"),
    ("sqlite:///f.db?batch_size=lots", "batch_size='lots' is not a valid int"),
    ("sqlite:///f.db?synchronous=off", "synchronous must be one of normal, full, extra"),
    ("sqlite:///f.db?flush_timer=maybe", "flush_timer='maybe'"),
    ("sqlite:///f.db#frag", "unexpected fragment"),
    ("", "empty"),
])
def test_bad_urls_are_one_line_errors(url: str, needle: str) -> None:
    with pytest.raises(StoreError) as err:
        parse_store_url(url)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_url_forms_open_the_same_file(tmp_path: Path, finding, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    with SQLiteFlowStore("sqlite:///d/flow.db") as s:
        s.write_finding(finding(1))
    with SQLiteFlowStore(f"sqlite:///{tmp_path}/d/flow.db", read_only=True) as s:
        # sqlite:/// + an absolute path = four slashes
        assert [f.id for f in s.findings()] == [finding(1).id]
    with SQLiteFlowStore("d/flow.db", read_only=True) as s:
        assert s.count_findings() == 1


def test_memory_store_works_without_a_file(finding) -> None:
    with SQLiteFlowStore("sqlite:///:memory:") as s:
        s.write_finding(finding(1))
        assert [f.id for f in s.findings(FindingQuery())] == [finding(1).id]
        assert s.verify() == []


def test_entry_point_registers_the_sqlite_backend(tmp_path: Path, finding) -> None:
    eps = [ep for ep in entry_points(group="horizon_flow") if ep.name == "sqlite"]
    assert [ep.value for ep in eps] == ["horizon_flow_store_sqlite.plugin"]
    module = eps[0].load()
    assert module.HORIZON_FLOW_PLUGIN_API == 1
    (spec,) = module.flow_stores()
    assert (spec.name, spec.schemes, spec.bare_paths) == ("sqlite", ("sqlite",), True)
    store = spec.open_flow_store(f"sqlite:///{tmp_path}/a.db")
    assert isinstance(store, SQLiteFlowStore)
    store.write_finding(finding(3))
    store.close()
    sink = spec.open_audit_sink(os.fspath(tmp_path / "audit.db"))
    assert isinstance(sink, SQLiteAuditSink) and sink.head() is None
    sink.close()


def test_store_conformance_check_of_the_core(tmp_path: Path) -> None:
    testing = pytest.importorskip("horizon_flow_core.testing")
    testing.check_store(lambda url: SQLiteFlowStore(url), tmp_path)


def test_mode_ro_opens_for_reading_only(tmp_path: Path, finding) -> None:
    db = tmp_path / "flow.db"
    with SQLiteFlowStore(db) as s:
        s.write_finding(finding(1))
    with SQLiteFlowStore(f"sqlite:///{db}?mode=ro") as s:
        assert s.read_only and s.count_findings() == 1
        with pytest.raises(StoreError, match="opened read-only"):
            s.write_finding(finding(2))
    with pytest.raises(StoreError, match="no such store file"):
        SQLiteFlowStore(f"sqlite:///{tmp_path}/none.db?mode=ro")
    assert not (tmp_path / "none.db").exists()


def test_mode_must_be_ro_or_rw() -> None:
    with pytest.raises(StoreError, match="mode='rwc': expected ro or rw"):
        parse_store_url("sqlite:///f.db?mode=rwc")
