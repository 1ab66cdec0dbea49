"""``flow run`` refuses what it cannot run with one readable line and a non-zero exit."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from horizon_flow_core import VenueSpec, hookimpl
from horizon_flow_core.cli.app import main
from horizon_flow_core.config import load_config
from horizon_flow_core.daemon.service import FlowDaemon
from horizon_flow_core.errors import PluginError
from horizon_flow_core.logs import setup_logging
from horizon_flow_core.plugin_manager import PluginManager

pytest.importorskip("horizon_flow_store_sqlite")
pytest.importorskip("horizon_flow_venue_hyperliquid")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    setup_logging(logging.WARNING)
    for h in list(logging.getLogger().handlers):
        if getattr(h, "_horizon_flow_root", False):
            logging.getLogger().removeHandler(h)


def run_flow(tmp_path: Path, toml: str, capsys: pytest.CaptureFixture[str],
             *extra: str) -> tuple[int, str]:
    path = tmp_path / "flow.toml"
    path.write_text(toml + f'\n[daemon]\ndata_dir = "{tmp_path}/data"\n'
                    f'[stores]\nflow = "{tmp_path}/flow.db"\naudit = "{tmp_path}/audit.db"\n')
    code = main(["run", "--config", str(path), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1] if err else ""


def test_no_venue_configured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_flow(tmp_path, "", capsys)
    assert code != 0
    assert err.startswith("error: ") and "no venue to run" in err and "flow.toml" in err
    assert "Traceback" not in err


def test_unknown_venue_on_the_command_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_flow(tmp_path, "[venues.hyperliquid]\n", capsys, "--venue", "nasdaq")
    assert code != 0 and "no installed plugin provides venue 'nasdaq'" in err


def test_metrics_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run_flow(tmp_path, f"[venues.hyperliquid]\n[metrics]\nport = {port}\n",
                             capsys, "--check")
    assert code != 0 and f"metrics: cannot listen on 127.0.0.1:{port}" in err


def test_store_that_cannot_be_opened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "flow.db").mkdir()  # a directory where the store file belongs
    code, err = run_flow(tmp_path, "[venues.hyperliquid]\n", capsys, "--check")
    assert code != 0 and err.startswith("error: ") and "flow.db" in err


def test_check_prints_the_banner_and_leaves_no_run(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flow.toml"
    path.write_text(f'[venues.hyperliquid]\ncoins = ["BTC"]\n[daemon]\ndata_dir = "{tmp_path}/d"\n'
                    f'[stores]\nflow = "{tmp_path}/flow.db"\naudit = "{tmp_path}/audit.db"\n')
    assert main(["run", "--config", str(path), "--check"]) == 0
    out = capsys.readouterr().out
    assert "venue hyperliquid (horizon-flow-venue-hyperliquid), engine hyperliquid" in out
    import horizon_flow_store_sqlite.plugin as sqlite_plugin

    sink = sqlite_plugin.open_audit_sink(str(tmp_path / "audit.db"))
    try:
        assert sink.head() is None  # nothing audited: no run was started
    finally:
        sink.close()


def test_venue_without_a_live_source(tmp_path: Path) -> None:
    class ScanOnly:
        HORIZON_FLOW_PLUGIN_API = 1

        @hookimpl
        def flow_venues(self) -> list[VenueSpec]:
            return [VenueSpec(name="archive", make_normalizer=lambda cfg: None)]

    pm = PluginManager(load_entrypoints=False)
    pm.register(ScanOnly(), name="archive")
    path = tmp_path / "flow.toml"
    path.write_text('[venues.archive]\n[stores]\nflow = "memory://"\naudit = "memory://"\n')
    daemon = FlowDaemon(load_config(path, pm), pm, configure_logging=False)
    with pytest.raises(PluginError, match="has no live source"):
        daemon.build()
