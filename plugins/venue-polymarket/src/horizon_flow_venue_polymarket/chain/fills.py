"""Decoded chain logs to ``order.filled`` events, one per wallet.

A match on the CTF Exchange emits one ``OrderFilled`` per maker order
(``maker`` = that order's wallet, ``taker`` = the taker order's wallet), then
one for the taker order with ``taker`` = the exchange contract (the taker's
aggregate leg), then ``OrdersMatched``. Each maker leg becomes two events:

* the maker: ``actor_id`` maker, ``counterparty_id`` taker, the maker order's
  side and hash (``order_id``), ``aggressor`` false;
* the taker: ``actor_id`` taker, ``counterparty_id`` maker, the opposite side,
  ``aggressor`` true.

The aggregate leg and ``OrdersMatched`` repeat the same volume, so they emit
nothing (counted in ``counters``). Both events sit on the maker order's
token; in a MINT/MERGE match the taker's side there is the economic
equivalent of its own order on the complementary token (BUY A at p ~ SELL A'
at 1-p).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from horizon_flow_core.errors import FrameError
from horizon_flow_core.events import MarketEvent

from ..convert import opposite, seconds_to_ns
from ..state import NormalizerState, event
from .decode import ChainFill, ChainMatch, decode_log, log_key, uint_field

_INT64 = 2**63


def _int_or_str(value: int) -> int | str:
    return value if value < _INT64 else str(value)


def fill_events(fill: ChainFill, ts: int, st: NormalizerState,
                tx_info: Mapping[str, Any] | None = None) -> list[MarketEvent]:
    base = st.extra(fill.token_id)
    base.update(source="chain", exchange=fill.exchange_label, block=fill.block_number,
                log_index=fill.log_index, maker_amount=_int_or_str(fill.maker_amount),
                taker_amount=_int_or_str(fill.taker_amount), fee=_int_or_str(fill.fee))
    if tx_info:
        for key in ("gas_price", "nonce", "from"):
            if tx_info.get(key) is not None:
                base[f"tx_{key}" if key == "from" else key] = tx_info[key]
    st.join_tape(fill.tx_hash, base)
    maker_extra = dict(base, leg="maker")
    taker_extra = dict(base, leg="taker")
    return [
        event(fill.token_id, "order.filled", ts, actor_id=fill.maker, counterparty_id=fill.taker,
              order_id=fill.order_hash, side=fill.side, price=fill.price, size=fill.size,
              aggressor=False, tx_hash=fill.tx_hash, extra=maker_extra),
        event(fill.token_id, "order.filled", ts, actor_id=fill.taker, counterparty_id=fill.maker,
              side=opposite(fill.side), price=fill.price, size=fill.size, aggressor=True,
              tx_hash=fill.tx_hash, extra=taker_extra),
    ]


def _tx_info(log: Mapping[str, Any]) -> dict[str, Any] | None:
    """Enrichment the chain source attached under ``_tx`` (gas price, nonce, sender)."""
    raw = log.get("_tx")
    if not isinstance(raw, dict):
        return None
    out: dict[str, Any] = {}
    for src, dst in (("gasPrice", "gas_price"), ("nonce", "nonce")):
        value = raw.get(src)
        if value is not None:
            out[dst] = uint_field(value, f"_tx.{src}")
    sender = raw.get("from")
    if sender is not None:
        if type(sender) is not str:
            raise FrameError(f"expected an address, got {type(sender).__name__}",
                             field="_tx.from")
        out["from"] = sender.lower()
    return out


def chain_log(log: dict[str, Any], recv_ts: int | None, st: NormalizerState
              ) -> list[MarketEvent]:
    """One raw ``eth_getLogs`` / ``eth_subscribe`` log to events."""
    if log.get("removed") is True:  # a reorg retracted it; its replacement comes as a new log
        st.counters["chain_removed_log"] += 1
        return []
    decoded = decode_log(log, st.exchanges)
    if decoded is None:
        st.counters["chain_other_event"] += 1
        return []
    if isinstance(decoded, ChainMatch):
        st.counters["chain_orders_matched"] += 1
        return []
    if decoded.is_aggregate_leg or decoded.taker in st.exchanges:
        st.counters["chain_taker_aggregate_leg"] += 1
        return []
    seconds = decoded.block_ts
    if seconds is None:
        seconds = st.block_timestamps.get(decoded.block_number)
    if seconds is None:
        raise FrameError(f"no time for block {decoded.block_number}: record logs with "
                         "blockTimestamp or give a block timestamp map", field="blockTimestamp")
    ts = seconds_to_ns(seconds, "blockTimestamp")
    tx_info = _tx_info(log)
    # Remembered only once the log is known good, so a corrected re-send is not dropped.
    if not st.seen.add(("log",) + log_key(log)):
        st.counters["duplicate_log"] += 1
        return []
    return fill_events(decoded, ts, st, tx_info)
