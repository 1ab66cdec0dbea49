"""KirilenkoProfiler mechanics: flush cadence, prior, eviction, bounds, determinism."""

from __future__ import annotations

import math
import types

import attrs
import pytest
from horizon_flow_detectors_builtin.profiling import KirilenkoProfiler, ProfilerConfig
from horizon_flow_detectors_builtin.profiling import plugin as profiling_plugin

from horizon_flow_core.events import MarketEvent, make_event
from horizon_flow_core.jsonio import canonical, loads
from horizon_flow_core.profiles import ActorProfile, uniform_prior
from horizon_flow_core.specs import ProfilerSpec

T0 = 1_732_147_200_000_000_000
S = 1_000_000_000


def fill(actor: str, ts: int, side: str = "buy", size: float = 10.0, price: float = 0.5,
         market: str = "M", venue: str = "polymarket", **kw: object) -> MarketEvent:
    return make_event(venue, market, "order.filled", ts, actor_id=actor, side=side, price=price,
                      size=size, order_id=f"o{ts}", **kw)


def place(actor: str, ts: int, side: str = "buy", market: str = "M") -> MarketEvent:
    return make_event("polymarket", market, "order.placed", ts, actor_id=actor, side=side,
                      price=0.5, size=10.0, order_id=f"p{ts}")


def feed(profiler: KirilenkoProfiler, events: list[MarketEvent]) -> list[ActorProfile | None]:
    return [profiler.observe(ev, seq) for seq, ev in enumerate(events, 1)]


def json_safe(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_safe(v) for v in value)
    return value is None or isinstance(value, (str, int, bool))


def test_flush_on_first_event_then_every_interval():
    prof = KirilenkoProfiler(ProfilerConfig(profile_refresh_event_interval=50))
    out = feed(prof, [place("a", T0 + i * S) for i in range(160)])
    flushed = [i + 1 for i, p in enumerate(out) if p is not None]
    assert flushed == [1, 51, 101, 151]
    assert [out[i - 1].event_count for i in flushed] == flushed
    assert [out[i - 1].last_updated_seq for i in flushed] == flushed


def test_flush_cadence_is_per_actor():
    prof = KirilenkoProfiler({"profile_refresh_event_interval": 3})
    events = [place("a" if i % 2 else "b", T0 + i * S) for i in range(12)]
    out = feed(prof, events)
    flushed = [(events[i].actor_id, p.event_count) for i, p in enumerate(out) if p is not None]
    assert flushed == [("b", 1), ("a", 1), ("b", 4), ("a", 4)]


def test_uniform_prior_below_min_events():
    prof = KirilenkoProfiler(
        ProfilerConfig(profile_min_events=30, profile_refresh_event_interval=10))
    events = [fill("a", T0 + i * S, side="buy", size=200.0) for i in range(31)]
    out = feed(prof, events)
    early = [p for p in out[:29] if p is not None]
    assert [p.event_count for p in early] == [1, 11, 21]
    for p in early:
        assert p.taxonomy == uniform_prior()
        assert p.features == {"event_count": p.event_count}
    late = prof.profile("polymarket", "a")
    assert late is not None and late.event_count == 31
    assert late.taxonomy != uniform_prior()
    assert late.top_class == "fundamental_buyer"


def test_profile_on_demand_and_unknown_actor():
    prof = KirilenkoProfiler()
    feed(prof, [place("a", T0)])
    assert prof.profile("polymarket", "a").event_count == 1
    assert prof.profile("polymarket", "zzz") is None
    assert prof.profile("kalshi", "a") is None  # actors are per venue


def test_finish_returns_changed_actors_sorted_once():
    prof = KirilenkoProfiler(ProfilerConfig(profile_refresh_event_interval=2))
    events = [place(a, T0 + i * S) for i, a in enumerate(["c", "a", "b", "a", "c"])]
    feed(prof, events)
    # c: 2 events (flushed at 1, changed at 2); a: 2 (flushed at 1, changed); b: 1 (flushed)
    final = list(prof.finish(99))
    assert [(p.actor_id, p.event_count, p.last_updated_seq) for p in final] == [
        ("a", 2, 99), ("c", 2, 99)]
    assert list(prof.finish(100)) == []


def test_ignores_events_without_actor_and_non_order_kinds():
    prof = KirilenkoProfiler()
    tape = make_event("polymarket", "M", "trade.tape", T0, actor_id="a", side="buy", price=0.5,
                      size=10.0)
    anon = make_event("polymarket", "M", "order.placed", T0, side="buy", price=0.5, size=1.0)
    assert prof.observe(tape, 1) is None
    assert prof.observe(anon, 2) is None
    assert prof.actor_count == 0
    assert "trade.tape" not in prof.kinds and "order.filled" in prof.kinds


def test_inventory_counts_only_own_fills():
    """One execution: a buys from b. Each side's fill moves only its own inventory."""
    prof = KirilenkoProfiler(ProfilerConfig(profile_min_events=1))
    events = []
    for i in range(10):
        ts = T0 + i * S
        events.append(fill("a", ts, "buy", counterparty_id="b", aggressor=True))
        events.append(fill("b", ts, "sell", counterparty_id="a", aggressor=False))
        events.append(make_event("polymarket", "M", "trade.tape", ts, side="buy", price=0.5,
                                 size=10.0))
    feed(prof, events)
    a = prof.profile("polymarket", "a").features
    b = prof.profile("polymarket", "b").features
    assert (a["volume"], a["net_position"], a["aggressor_share"]) == (100.0, 100.0, 1.0)
    assert (b["volume"], b["net_position"], b["maker_fills"]) == (100.0, -100.0, 10)
    assert a["notional"] == pytest.approx(50.0)


def test_self_trades_gas_and_nonce_stats():
    prof = KirilenkoProfiler(ProfilerConfig(profile_min_events=1))
    events = [
        fill("w", T0, extra={"gas_price": 30_000_000_000, "nonce": 5}),
        fill("w", T0 + S, "sell", counterparty_id="w", extra={"gas_price": "0x9502f9000",
                                                                "nonce": "6"}),
        fill("w", T0 + 2 * S, extra={"gas_price": 50e9, "nonce": 6}),
        fill("w", T0 + 3 * S, extra={"gas_price": "not a number", "nonce": True}),
    ]
    feed(prof, events)
    f = prof.profile("polymarket", "w").features
    assert f["self_trades"] == 1
    assert f["gas_price_count"] == 3
    assert f["gas_price_mean"] == pytest.approx(40e9)
    assert (f["gas_price_min"], f["gas_price_max"]) == (30e9, 50e9)
    assert (f["nonce_count"], f["nonce_min"], f["nonce_max"]) == (3, 5, 6)
    assert f["nonce_regressions"] == 1


def test_features_are_json_safe_and_complete():
    prof = KirilenkoProfiler(ProfilerConfig(profile_min_events=1))
    feed(prof, [place("a", T0), fill("a", T0 + 7200 * S, market="X")])
    p = prof.profile("polymarket", "a")
    assert json_safe(p.features) and json_safe(p.taxonomy)
    assert loads(canonical(p.to_dict()))["features"]["hour_histogram"] == p.features[
        "hour_histogram"]
    f = p.features
    assert sum(f["hour_histogram"]) == 2 and len(f["hour_histogram"]) == 24
    assert (f["placements"], f["fills"], f["markets_active"], f["markets_traded"]) == (1, 1, 2, 1)
    assert f["inter_arrival_mean_s"] == 7200.0 and f["inter_arrival_var_s2"] == 0.0
    assert (f["first_ts"], f["last_ts"], f["active_span_s"]) == (T0, T0 + 7200 * S, 7200.0)


def test_inter_arrival_welford_mean_and_variance():
    prof = KirilenkoProfiler(ProfilerConfig(profile_min_events=1))
    gaps = [1, 3, 2, 6, 4]
    ts, events = T0, [place("a", T0)]
    for g in gaps:
        ts += g * S
        events.append(place("a", ts))
    feed(prof, events)
    f = prof.profile("polymarket", "a").features
    mean = sum(gaps) / len(gaps)
    assert f["inter_arrival_mean_s"] == pytest.approx(mean)
    assert f["inter_arrival_var_s2"] == pytest.approx(sum((g - mean) ** 2 for g in gaps) / 5)


def test_out_of_order_events_are_counted_not_negative():
    prof = KirilenkoProfiler(ProfilerConfig(profile_min_events=1))
    feed(prof, [place("a", T0 + 10 * S), place("a", T0), place("a", T0 + 20 * S)])
    f = prof.profile("polymarket", "a").features
    assert f["out_of_order"] == 1
    assert f["inter_arrival_mean_s"] >= 0
    assert (f["first_ts"], f["last_ts"]) == (T0 + 10 * S, T0 + 20 * S)


def test_max_actors_evicts_least_recently_active():
    prof = KirilenkoProfiler(ProfilerConfig(max_actors=5))
    events = [place(f"a{i:02d}", T0 + i * S) for i in range(20)]
    events.append(place("a16", T0 + 30 * S))  # a16 becomes most recent
    events.append(place("new", T0 + 31 * S))  # evicts a15, the least recent now
    feed(prof, events)
    assert prof.actor_count == 5
    assert prof.evicted == 16
    kept = sorted(p.actor_id for p in prof.finish(0)) + sorted(
        a for a in ("a16", "a17", "a18", "a19", "new") if prof.profile("polymarket", a))
    assert prof.profile("polymarket", "a15") is None
    assert {"a16", "a17", "a18", "a19", "new"} <= set(kept)


def test_evict_idle_returns_final_snapshots_of_changed_actors():
    prof = KirilenkoProfiler(ProfilerConfig(profile_refresh_event_interval=100))
    feed(prof, [place("old", T0), place("old", T0 + S), place("quiet", T0 + 2 * S),
                place("live", T0 + 100 * S)])
    dropped = prof.evict_idle(T0 + 50 * S)
    # "old" changed since its first-event flush; "quiet" did not.
    assert [(p.actor_id, p.event_count) for p in dropped] == [("old", 2)]
    assert prof.actor_count == 1 and prof.evicted == 2
    assert prof.profile("polymarket", "old") is None


def test_automatic_idle_sweep_keeps_memory_bounded():
    prof = KirilenkoProfiler(ProfilerConfig(idle_evict_s=60.0))
    # 5000 one-shot actors, one per second: only the last minute's stay after the sweep.
    feed(prof, [place(f"x{i}", T0 + i * S) for i in range(5000)])
    assert prof.actor_count < 1000
    assert prof.evicted > 4000


def test_markets_per_actor_are_bounded():
    prof = KirilenkoProfiler(ProfilerConfig(profile_min_events=1, max_markets_per_actor=3))
    feed(prof, [fill("a", T0 + i * S, market=f"m{i}") for i in range(6)])
    f = prof.profile("polymarket", "a").features
    assert f["markets_overflow_events"] == 3
    assert f["markets_active"] == 3
    assert f["volume"] == 60.0 and f["net_position"] == 60.0
    assert len(f["inventory_by_market"]) == 4  # three by name, one pooled


def test_same_feed_gives_byte_identical_profiles():
    def run() -> bytes:
        prof = KirilenkoProfiler(ProfilerConfig(profile_refresh_event_interval=7))
        out = []
        for seq, ev in enumerate(
                [fill(f"a{i % 5}", T0 + i * S, "buy" if i % 3 else "sell", size=1.0 + i % 4,
                      market=f"m{i % 2}") for i in range(400)], 1):
            p = prof.observe(ev, seq)
            if p is not None:
                out.append(p.to_dict())
        out.extend(p.to_dict() for p in prof.finish(400))
        return canonical(out)

    assert run() == run()


def test_config_from_core_section_mapping_flowconfig_or_none():
    actors = types.SimpleNamespace(profile_min_events=5, profile_refresh_event_interval=9)
    cfg = ProfilerConfig.from_any(actors)
    assert (cfg.profile_min_events, cfg.profile_refresh_event_interval) == (5, 9)
    assert cfg.max_actors == ProfilerConfig().max_actors
    assert ProfilerConfig.from_any(types.SimpleNamespace(actors=actors)) == cfg
    assert ProfilerConfig.from_any(None) == ProfilerConfig()
    assert ProfilerConfig.from_any({"profile_min_events": 5, "profile_refresh_event_interval": 9,
                                    "unrelated": 1}) == cfg
    with_tax = ProfilerConfig.from_any({"taxonomy": {"directional_share": 0.2}})
    assert with_tax.taxonomy.directional_share == 0.2
    assert KirilenkoProfiler(actors).config == cfg


@pytest.mark.parametrize("field,value", [
    ("profile_min_events", -1), ("profile_refresh_event_interval", 0), ("max_actors", 1.5),
    ("idle_evict_s", -1.0), ("max_markets_per_actor", True),
])
def test_config_rejects_out_of_range(field, value):
    with pytest.raises(ValueError, match=field):
        ProfilerConfig(**{field: value})


def test_plugin_registers_the_profiler():
    assert profiling_plugin.HORIZON_FLOW_PLUGIN_API == 1
    (spec,) = profiling_plugin.flow_profilers()
    assert isinstance(spec, ProfilerSpec) and spec.name == "kirilenko"
    prof = spec.factory(None)
    assert prof.name == "kirilenko"
    assert prof.observe(place("a", T0), 1).event_count == 1
    assert attrs.has(type(prof.config))


def test_min_events_zero_classifies_from_the_first_event():
    prof = KirilenkoProfiler(ProfilerConfig(profile_min_events=0))
    first = prof.observe(fill("a", T0, size=500.0), 1)
    assert first is not None and first.taxonomy != uniform_prior()
    assert "volume" in first.features
