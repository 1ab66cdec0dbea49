"""Wallet trades from RTDS ``activity/trades`` and the Data API ``/trades``.

Both give one record per trade with the wallet (``proxyWallet``), not the
counterparty. Each record becomes one ``order.filled`` with
``actor_id`` = the proxy wallet (lower-cased), ``aggressor`` true (both feeds
report the taker's side of each match: the Data API's ``takerOnly`` defaults to
true), no ``counterparty_id``, and ``tx_hash`` = ``transactionHash``, which
joins it to the tape and to the chain-decoded fills of the same execution.
``timestamp`` is read by magnitude (seconds in the Data API, seconds or ms on
RTDS).
"""

from __future__ import annotations

from typing import Any

from horizon_flow_core.errors import FrameError, preview
from horizon_flow_core.events import MarketEvent

from .convert import frame_ts, num, scalar, side, text, tx_hash
from .state import NormalizerState, event

#: RTDS topics that carry no market data for surveillance.
IGNORED_TOPICS = frozenset({"comments", "crypto_prices", "crypto_prices_chainlink",
                            "equity_prices", "clob_market", "rfq"})
#: Record fields copied into ``extra`` (source name, extra name).
_DESCRIPTIVE = (("outcome", "outcome"), ("outcomeIndex", "outcome_index"), ("slug", "slug"),
                ("eventSlug", "event_slug"), ("name", "name"), ("pseudonym", "pseudonym"))


def wallet_trade(record: dict[str, Any], recv_ts: int | None, st: NormalizerState,
                 source: str) -> list[MarketEvent]:
    asset = text(record, "asset")
    wallet = text(record, "proxyWallet")
    assert asset is not None and wallet is not None
    ts = frame_ts(record, recv_ts, "timestamp")
    s = side(record)
    price, size = num(record, "price"), num(record, "size")
    extra = st.extra(asset, text(record, "conditionId", required=False))
    extra["source"] = source
    for src, dst in _DESCRIPTIVE:
        value = scalar(record, src)
        if value is not None:
            extra.setdefault(dst, value)
    tx = tx_hash(record, "transactionHash", "transaction_hash")
    st.join_tape(tx, extra)
    return [event(asset, "order.filled", ts, actor_id=wallet.lower(), side=s, price=price,
                  size=size, aggressor=True, tx_hash=tx, extra=extra)]


def rtds(frame: dict[str, Any], recv_ts: int | None, st: NormalizerState) -> list[MarketEvent]:
    """An RTDS message: ``{"topic", "type", "timestamp", "payload", "connection_id"}``."""
    topic = frame.get("topic")
    if type(topic) is not str:
        raise FrameError(f"expected a topic name, got {preview(topic)}", field="topic")
    if topic in IGNORED_TOPICS:
        st.counters[f"rtds_ignored_{topic}"] += 1
        return []
    if topic != "activity":
        raise FrameError(f"unknown RTDS topic {preview(topic)}", field="topic")
    kind = frame.get("type")
    if kind not in ("trades", "orders_matched"):
        st.counters["rtds_ignored_activity"] += 1
        return []
    payload = frame.get("payload")
    records = payload if isinstance(payload, list) else [payload]
    out: list[MarketEvent] = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise FrameError(f"expected an object, got {type(record).__name__}",
                             field=f"payload[{i}]" if isinstance(payload, list) else "payload")
        try:
            out.extend(wallet_trade(record, recv_ts, st, f"rtds_{kind}"))
        except FrameError as exc:
            raise FrameError(exc.reason, field=f"payload.{exc.field}") from None
    return out
