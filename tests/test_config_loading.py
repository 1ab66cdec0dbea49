"""Config: TOML in, typed classes out; every mistake is one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from horizon_flow_core import ConfigError, ConfigSection, DetectorSpec, hookimpl
from horizon_flow_core.cli.app import main
from horizon_flow_core.config import config_hash, load_config
from horizon_flow_core.testing import isolated_plugin_manager

SEED_CONFIG = """
seed = 42
max_trades_per_market = 2000
max_book_snapshots_per_market = 100

[windows]
short_s = 5.0
medium_s = 60.0
long_s = 3600.0

[detectors.spoofing]
min_bait_size = 500.0
bait_to_aggressor_ratio = 5.0

[alerts]
severity_floor = "High"

[alerts.routes.desk]
url_env = "DESK_URL"
"""


@attrs.frozen
class SpoofCfg:
    min_bait_size: float = attrs.field(default=100.0)
    bait_to_aggressor_ratio: float = 2.0

    @min_bait_size.validator
    def _pos(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value <= 0:
            raise ValueError(f"min_bait_size must be > 0, got {value}")


@attrs.frozen
class RouteCfg:
    url_env: str = ""


class Plugin:
    @hookimpl
    def flow_detectors(self) -> list[DetectorSpec]:
        return [DetectorSpec(name="spoofing", factory=lambda c: None, config_class=SpoofCfg),
                DetectorSpec(name="plain", factory=lambda c: None)]

    @hookimpl
    def flow_config_sections(self) -> list[ConfigSection]:
        return [ConfigSection("alerts.routes.*", RouteCfg)]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "flow.toml"
    p.write_text(text)
    return p


def test_seed_config_loads_into_typed_sections(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SEED_CONFIG), isolated_plugin_manager(Plugin()))
    assert cfg.seed == 42 and cfg.windows.long_s == 3600.0
    assert cfg.detector_config("spoofing") == SpoofCfg(500.0, 5.0)
    assert cfg.alerts.severity_floor == "high"
    assert cfg.section("alerts.routes") == {"desk": RouteCfg("DESK_URL")}
    assert cfg.detector_config("plain") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("sede = 42", "flow.toml: sede: unknown key"),
    ("[windows]\nshort = 5.0", "flow.toml: windows.short: unknown key"),
    ("seed = 'forty'", "flow.toml: seed: expected an integer, got str 'forty'"),
    ("[windows]\nshort_s = -1.0", "windows: short_s must be > 0, got -1.0"),
    ("[detectors.spoofing]\nmin_bait_size = 'big'",
     "detectors.spoofing.min_bait_size: expected a number, got str 'big'"),
    ("[detectors.spoofing]\nmin_bait_size = 0.0", "min_bait_size must be > 0"),
    ("[detectors.spoofng]\nx = 1", "detectors.spoofng: no installed plugin provides detector"),
    ("[detectors.plain]\nx = 1", "detectors.plain: this detector takes no settings"),
    ("[alerts.routes.desk]\nurl = 'https://x'", "alerts.routes.desk.url: unknown key"),
    ("[alerts]\nseverity_floor = 'urgent'", "severity_floor must be one of"),
    ("seed = [", "invalid TOML"),
])
def test_errors_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), isolated_plugin_manager(Plugin()))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert "flow.toml" in message


def test_config_hash_is_stable_and_sensitive(tmp_path: Path) -> None:
    pm = isolated_plugin_manager(Plugin())
    a = load_config(write(tmp_path, SEED_CONFIG), pm)
    b = load_config(write(tmp_path, SEED_CONFIG), pm)
    c = load_config(write(tmp_path, SEED_CONFIG.replace("500.0", "501.0")), pm)
    assert config_hash(a) == config_hash(b) != config_hash(c)


def test_cli_config_check_bad_key_is_one_line_and_nonzero(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    path = write(tmp_path, "seed = 1\n[windows]\nshort_seconds = 5.0\n")
    code = main(["config", "check", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    # plugin warnings may precede it; the error itself is one line
    assert err[-1] == f"error: {path}: windows.short_seconds: unknown key"


def test_cli_config_check_ok_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "seed = 7\n")
    assert main(["config", "check", str(path)]) == 0
    assert "ok" in capsys.readouterr().out
    assert main(["config", "show", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "seed = 7" in out and "[windows]" in out and "short_s = 5.0" in out


def test_missing_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["config", "check", str(tmp_path / "nope.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err
