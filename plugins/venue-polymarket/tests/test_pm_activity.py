"""RTDS ``activity/trades`` and Data API trades: wallet identity without an RPC."""

from __future__ import annotations

import pytest
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer

from horizon_flow_core.errors import FrameError
from horizon_flow_core.testing.conformance import check_venue

TOKEN = "92995309462039665251203590892224533684024782310651466832592596015862972883776"
TX = "0x21d27b0fde210ccb5e6480e3f479f342743aa1f854199d57cafab2553d9a516e"


def trade_record(**over):
    # Field set of the official real-time-data-client README ("Trade") and the Data API.
    record = {"asset": TOKEN, "conditionId": "0x" + "ab" * 32, "eventSlug": "some-event",
              "name": "whale", "outcome": "Yes", "outcomeIndex": 0, "price": 0.94,
              "proxyWallet": "0x92C9AD93BA0E400FFC8D716EDF70A588D246BDE3", "pseudonym": "Quiet-Fox",
              "side": "BUY", "size": 4.18, "slug": "some-market", "timestamp": 1784965486,
              "title": "Some market?", "transactionHash": TX}
    record.update(over)
    return record


def rtds(payload, kind="trades"):
    return {"topic": "activity", "type": kind, "timestamp": 1784965486123,
            "payload": payload, "connection_id": "abc="}


def test_rtds_trade_is_a_wallet_fill():
    [ev] = PolymarketNormalizer().normalize(rtds(trade_record()), None)
    assert (ev.kind, ev.market_id, ev.actor_id, ev.side, ev.price, ev.size) == (
        "order.filled", TOKEN, "0x92c9ad93ba0e400ffc8d716edf70a588d246bde3", "buy", 0.94, 4.18)
    assert ev.aggressor is True and ev.counterparty_id is None
    assert ev.ts == 1784965486 * 10**9 and ev.tx_hash == TX
    assert ev.extra == {"condition_id": "0x" + "ab" * 32, "source": "rtds_trades",
                        "outcome": "Yes", "outcome_index": 0, "slug": "some-market",
                        "event_slug": "some-event", "name": "whale", "pseudonym": "Quiet-Fox"}


def test_data_api_page_of_trades_and_ms_timestamps():
    page = [trade_record(), trade_record(side="SELL", price="0.93", size="10",
                                         timestamp="1784965487000")]
    evs = PolymarketNormalizer().normalize(page, None)
    assert [(e.side, e.price, e.size, e.ts) for e in evs] == [
        ("buy", 0.94, 4.18, 1784965486 * 10**9), ("sell", 0.93, 10.0, 1784965487 * 10**9)]
    assert {e.extra["source"] for e in evs} == {"data_api"}


def test_activity_and_chain_name_the_same_wallet_on_the_same_market(pm_chain_logs):
    n = PolymarketNormalizer()
    [tape] = n.normalize({"event_type": "last_trade_price", "asset_id": TOKEN, "price": "0.94",
                          "side": "BUY", "size": "4.18", "timestamp": "1784965486500",
                          "transaction_hash": TX.upper().replace("0X", "0x")}, None)
    [activity] = n.normalize(rtds(trade_record()), None)
    chain = n.normalize(pm_chain_logs[0], None)
    assert activity.extra["tape_ts"] == tape.ts == 1784965486500 * 10**6
    assert {e.extra["tape_ts"] for e in chain} == {tape.ts}
    taker = next(e for e in chain if e.aggressor)
    assert (taker.actor_id, taker.market_id, taker.tx_hash, taker.side) == (
        activity.actor_id, activity.market_id, activity.tx_hash, activity.side)


def test_other_rtds_topics_carry_no_events_and_bad_payloads_are_rejected():
    n = PolymarketNormalizer()
    assert n.normalize({"topic": "crypto_prices", "type": "update", "payload": {}}, None) == []
    with pytest.raises(FrameError, match="payload.proxyWallet"):
        n.normalize(rtds({k: v for k, v in trade_record().items() if k != "proxyWallet"}), None)
    with pytest.raises(FrameError, match="payload.side"):
        n.normalize(rtds(trade_record(side="HOLD")), None)


def test_conformance_of_the_normalizer(pm_chain_logs):
    frames = [rtds(trade_record()), "PONG", *pm_chain_logs,
              {"event_type": "best_bid_ask", "asset_id": TOKEN, "best_bid": "0.9",
               "best_ask": "0.95", "timestamp": "1784965486000"}]
    events = check_venue(PolymarketNormalizer, frames)
    assert len(events) == 6
