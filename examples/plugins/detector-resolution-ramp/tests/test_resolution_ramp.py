"""Tests of the resolution-ramp detector, with horizon-flow's testing kit only."""

from __future__ import annotations

from pathlib import Path

import pytest
from horizon_flow_core import AnomalyFinding, ConfigError, FlowEngine, load_config, make_event
from horizon_flow_core.testing import FeedBuilder, check_detector, isolated_plugin_manager

from horizon_flow_detector_resolution_ramp import plugin
from horizon_flow_detector_resolution_ramp.closes import close_from_extra, parse_close
from horizon_flow_detector_resolution_ramp.config import ResolutionRampConfig
from horizon_flow_detector_resolution_ramp.detector import (
    CATEGORY,
    NAME,
    ResolutionRampDetector,
)

MIN = 60 * 10**9
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
CLOSE = T0 + 120 * MIN
CLOSE_ISO = "2026-01-01T02:00:00Z"
CONFIG = ResolutionRampConfig(closes={"M": CLOSE_ISO})


def prior_trend(fb: FeedBuilder, start: float = 0.70, end: float = 0.55) -> None:
    """Two-sided trading drifting from start to end, 70 to 12 minutes before the close."""
    minutes = list(range(50, 109, 2))
    for i, m in enumerate(minutes):
        price = round(start + (end - start) * i / (len(minutes) - 1), 4)
        fb.at(T0 + m * MIN).fill(f"trader{i % 4}", "buy" if i % 2 else "sell", price, 100,
                                 counterparty="mm")


def late(fb: FeedBuilder, actor: str | None, side: str, prices: list[float], size: float,
         *, start_min: float = 112, tape_only: bool = False, fills_only: bool = False) -> None:
    """One print every 30 s from ``start_min`` minutes after T0."""
    for i, price in enumerate(prices):
        fb.at(int(T0 + start_min * MIN + i * 30 * 10**9))
        if tape_only:
            fb.tape(side, price, size)
        else:
            fb.fill(actor, side, price, size, counterparty="mm", tape=not fills_only)


RAMP_UP = [0.56, 0.57, 0.59, 0.60, 0.62, 0.63, 0.65, 0.66, 0.68, 0.69, 0.70, 0.70]


def ramp_feed(**late_kw: object) -> FeedBuilder:
    fb = FeedBuilder(market="M")
    prior_trend(fb)
    late(fb, "whale", "buy", RAMP_UP, 300, **late_kw)  # type: ignore[arg-type]
    return fb


def run(events: list, config: ResolutionRampConfig | None = CONFIG) -> list[AnomalyFinding]:
    engine = FlowEngine(detectors=[ResolutionRampDetector(config)])
    out: list[AnomalyFinding] = []
    for ev in events:
        out.extend(engine.ingest(ev))
    out.extend(engine.finish())
    return out


def test_fires_once_on_a_scripted_ramp() -> None:
    fb = ramp_feed()
    findings = run(fb.events)
    assert len(findings) == 1  # the ramp goes on after it fired: still one finding
    f = findings[0]
    assert (f.detector, f.category, f.market_id, f.actor_id) == (NAME, CATEGORY, "M", "whale")
    ev = f.evidence
    assert ev["close_ts"] == CLOSE and ev["close_source"] == "config"
    assert ev["prior_trend"]["change"] < -0.1 and ev["prior_trend"]["prints"] == 30
    ramp = ev["ramp"]
    assert ramp["direction"] == "up" and ramp["move"] >= 0.05
    assert ramp["aggressive_side"] == "buy" and ramp["aggressive_share"] == 1.0
    assert ev["actor_share"] == 1.0 and ev["top_actors"][0][0] == "whale"
    assert 0 < ev["minutes_to_close"] <= 10 and ev["as_of_ts"] == f.ts
    assert "CEA" in f.citation and "2016/522" in f.citation and "MAR" in f.citation
    assert f.severity in ("medium", "high") and 0.5 <= f.confidence < 1.0
    # it fired on the first print where the move against the trend reached 5 points
    fired_price = ramp["to_price"]
    assert fired_price - ramp["from_price"] >= 0.05
    assert fired_price == min(p for p in RAMP_UP if p - ramp["from_price"] >= 0.05)


def test_quiet_on_ordinary_late_trading() -> None:
    fb = FeedBuilder(market="M")
    prior_trend(fb)
    for i, price in enumerate([0.55, 0.56, 0.55, 0.54, 0.55, 0.56, 0.55, 0.55]):
        late(fb, f"t{i % 3}", "buy" if i % 2 else "sell", [price], 150, start_min=112 + i)
    assert run(fb.events) == []


def test_quiet_when_the_late_move_goes_with_the_trend() -> None:
    fb = FeedBuilder(market="M")
    prior_trend(fb)
    late(fb, "whale", "sell", [0.54, 0.52, 0.50, 0.48, 0.46, 0.44, 0.42, 0.40], 300)
    assert run(fb.events) == []


def test_quiet_on_a_ramp_far_from_the_close() -> None:
    later = ResolutionRampConfig(closes={"M": "2026-01-01T05:00:00Z"})
    assert run(ramp_feed().events, later) == []


def test_quiet_when_the_late_volume_is_not_one_sided() -> None:
    fb = FeedBuilder(market="M")
    prior_trend(fb)
    for i, price in enumerate(RAMP_UP):  # the price climbs, but sellers hit as much as buyers
        late(fb, "whale" if i % 2 else "seller", "buy" if i % 2 else "sell", [price], 300,
             start_min=112 + i / 2)
    assert run(fb.events) == []


def test_quiet_on_a_flat_prior_trend() -> None:
    fb = FeedBuilder(market="M")
    prior_trend(fb, start=0.55, end=0.555)
    late(fb, "whale", "buy", RAMP_UP, 300)
    assert run(fb.events) == []


def test_anonymous_tape_fires_without_an_actor() -> None:
    fb = FeedBuilder(market="M")
    prior_trend(fb)
    late(fb, None, "buy", RAMP_UP, 300, tape_only=True)
    (f,) = run(fb.events)
    assert f.actor_id is None and f.evidence["actor"] is None and f.evidence["top_actors"] == []


def test_venue_with_fills_but_no_tape() -> None:
    fb = FeedBuilder(market="M")
    minutes = list(range(50, 109, 2))
    for i, m in enumerate(minutes):
        price = round(0.70 - 0.15 * i / (len(minutes) - 1), 4)
        fb.at(T0 + m * MIN).fill(f"t{i % 4}", "buy" if i % 2 else "sell", price, 100,
                                 counterparty="mm", tape=False)
    late(fb, "whale", "buy", RAMP_UP, 300, fills_only=True)
    (f,) = run(fb.events)
    assert f.actor_id == "whale" and f.evidence["prior_trend"]["prints"] == 30


def test_close_time_from_event_extra_fires_live() -> None:
    fb = ramp_feed()
    listing = make_event("test", "M", "quote.update", T0, bid=0.69, ask=0.71,
                         extra={"end_date": CLOSE_ISO, "question": "Will X happen?"})
    (f,) = run([listing, *fb.events], config=None)
    assert f.evidence["close_source"] == "event:end_date" and f.evidence["close_ts"] == CLOSE


def test_resolution_notice_judges_the_window_after_the_fact() -> None:
    fb = ramp_feed()
    # Polymarket-style: the resolution arrives a minute after, time in milliseconds
    notice = make_event("test", "M", "quote.update", CLOSE + MIN, bid=0.99, ask=1.0,
                        extra={"resolved_ts": CLOSE // 10**6, "winning_outcome": "Yes"})
    (f,) = run([*fb.events, notice], config=None)
    assert f.ts == CLOSE + MIN and f.evidence["as_of_ts"] == CLOSE
    assert f.evidence["close_source"] == "event:resolved_ts"
    assert f.evidence["minutes_to_close"] == 0.0
    assert f.evidence["ramp"]["to_price"] == RAMP_UP[-1]  # the whole window, as of the close


def test_config_wins_over_event_data() -> None:
    listing = make_event("test", "M", "quote.update", T0, bid=0.69, ask=0.71,
                         extra={"end_date": CLOSE_ISO})
    later = ResolutionRampConfig(closes={"M": "2026-01-01T05:00:00Z"})
    assert run([listing, *ramp_feed().events], later) == []
    ignoring = ResolutionRampConfig(learn_closes_from_events=False)
    assert run([listing, *ramp_feed().events], ignoring) == []


def test_prices_outside_zero_one_are_not_event_contracts() -> None:
    fb = FeedBuilder(market="M")
    prior_trend(fb, start=70.0, end=55.0)
    late(fb, "whale", "buy", [p * 100 for p in RAMP_UP], 300)
    assert run(fb.events) == []


def test_conformance_and_determinism_on_the_firing_path() -> None:
    check_detector(ResolutionRampDetector, ResolutionRampConfig)
    check_detector(lambda: ResolutionRampDetector(CONFIG), feed=ramp_feed().events)


def test_memory_is_bounded_and_idle_markets_are_dropped() -> None:
    det = ResolutionRampDetector(ResolutionRampConfig(max_prints_per_market=10))
    run_engine = FlowEngine(detectors=[det])
    for ev in ramp_feed().events:
        run_engine.ingest(ev)
    assert len(det._tapes["M"].prints) == 10
    det.evict_idle(CLOSE + 10**15)
    assert det._tapes == {} and det._fired == set()


@pytest.mark.parametrize("value", [1_767_232_800, 1_767_232_800_000, 1_767_232_800_000_000,
                                   CLOSE, "1767232800", CLOSE_ISO, "2026-01-01T03:00:00+01:00"])
def test_close_times_in_every_unit_agree(value: object) -> None:
    assert parse_close(value) == CLOSE


def test_unreadable_close_times_are_ignored() -> None:
    for value in ("soon", "", None, True, -5, {"t": 1}):
        assert parse_close(value) is None
    assert close_from_extra({"end_date": "soon", "close_ts": 1_767_232_800}) == (CLOSE,
                                                                                "close_ts")
    assert close_from_extra({"question": "x"}) is None


def test_config_from_toml_and_its_errors(tmp_path: Path) -> None:
    pm = isolated_plugin_manager(plugin)
    path = tmp_path / "flow.toml"
    path.write_text('[detectors.resolution_ramp]\nclose_window = 1\n')
    with pytest.raises(ConfigError, match="detectors.resolution_ramp.close_window: unknown key"):
        load_config(path, pm)
    table = "[detectors.resolution_ramp]\n"
    path.write_text(table + f'window_s = 300.0\ncloses = {{ M = "{CLOSE_ISO}" }}\n')
    cfg = load_config(path, pm).detector_config(NAME)
    assert cfg == ResolutionRampConfig(window_s=300.0, closes={"M": CLOSE_ISO})
    path.write_text('[detectors.resolution_ramp]\ncloses = { M = "tomorrow" }\n')
    with pytest.raises(ConfigError, match="closes.M: 'tomorrow' is not an ISO 8601 time"):
        load_config(path, pm)
    path.write_text('[detectors.resolution_ramp]\ncloses = { M = "2026-01-01T02:00:00" }\n')
    with pytest.raises(ConfigError, match="has no time zone"):
        load_config(path, pm)
    path.write_text("[detectors.resolution_ramp]\nmin_aggressive_share = 1.5\n")
    with pytest.raises(ConfigError, match=r"min_aggressive_share must be in \(0, 1\]"):
        load_config(path, pm)
