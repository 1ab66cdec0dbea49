"""Token ids to markets: CLOB ``/markets`` and Gamma metadata.

**market_id convention.** Every Polymarket event this plugin makes uses the
outcome *token id* (the CLOB ``asset_id``, the ERC-1155 position id, a decimal
string of ~77 digits) as ``market_id``. The token is the unit Polymarket keeps a
book for, and the one identifier present in all four sources: the market
channel (``asset_id``), the user channel (``asset_id``), RTDS/Data API
(``asset``) and the chain (V1 ``makerAssetId``/``takerAssetId``, V2
``tokenId``). So a print on the tape, the fills decoded from the chain and the
wallet trades from the activity feed of one execution land on the same
``market_id`` and join by ``tx_hash``. The condition id (the "market" of the
Polymarket UI), the outcome name and the slug go into ``extra`` when known.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson

from horizon_flow_core.errors import FeedError, preview

from .convert import int_text


@attrs.frozen
class TokenInfo:
    """What is known about one outcome token."""

    token_id: str
    condition_id: str | None = None
    outcome: str | None = None
    outcome_index: int | None = None
    slug: str | None = None
    question: str | None = None
    neg_risk: bool | None = None
    tick_size: float | None = None
    complement: str | None = None  #: the other token of a binary market

    def extra(self) -> dict[str, Any]:
        """The fields copied into ``MarketEvent.extra`` (only the known ones)."""
        out: dict[str, Any] = {}
        if self.condition_id:
            out["condition_id"] = self.condition_id
        if self.outcome is not None:
            out["outcome"] = self.outcome
        if self.slug:
            out["slug"] = self.slug
        return out


def _json_list(value: Any, field: str) -> list[Any]:
    """Gamma encodes lists as JSON strings (``clobTokenIds``, ``outcomes``)."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            decoded = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise FeedError(f"not a JSON-encoded list: {preview(value, 60)}", field=field) from None
        if isinstance(decoded, list):
            return decoded
    raise FeedError(f"expected a list or a JSON-encoded list, got {preview(value, 60)}",
                    field=field)


def _float_or_none(value: Any) -> float | None:
    try:
        out = float(value) if value not in (None, "") else None
    except (TypeError, ValueError, OverflowError):
        return None
    return out if out is None or out - out == 0.0 else None  # no NaN or infinity


def _str_or_none(value: Any, field: str) -> str | None:
    """A metadata string (id, slug, outcome...); a JSON number is taken as its text."""
    if value is None or value == "":
        return None
    t = type(value)
    if t is str:
        return value
    if t is int:
        return int_text(value, field)
    if t is float or t is bool:
        return str(value)
    raise FeedError(f"expected a string, got {preview(value)}", field=field)


#: How deep :meth:`TokenMap.load_payload` walks (a list of Gamma events of markets is 4).
_MAX_PAYLOAD_DEPTH = 8


class TokenMap:
    """Token id -> :class:`TokenInfo`, filled from CLOB, Gamma or ``new_market`` frames."""

    def __init__(self, infos: Iterable[TokenInfo] = ()) -> None:
        self._by_token: dict[str, TokenInfo] = {}
        self._extra: dict[str, dict[str, Any]] = {}
        for info in infos:
            self.add(info)

    # -- access ------------------------------------------------------------------
    def add(self, info: TokenInfo) -> None:
        self._by_token[info.token_id] = info
        self._extra[info.token_id] = info.extra()

    def get(self, token_id: str) -> TokenInfo | None:
        return self._by_token.get(token_id)

    def extra_for(self, token_id: str) -> dict[str, Any] | None:
        """A fresh copy of the token's ``extra`` fields, or None when unknown."""
        cached = self._extra.get(token_id)
        return dict(cached) if cached else None

    def tokens_of(self, condition_id: str) -> list[str]:
        return sorted(t for t, i in self._by_token.items() if i.condition_id == condition_id)

    def by_slug(self, slug: str) -> list[str]:
        return sorted(t for t, i in self._by_token.items() if i.slug == slug)

    def __contains__(self, token_id: object) -> bool:
        return token_id in self._by_token

    def __len__(self) -> int:
        return len(self._by_token)

    def __iter__(self) -> Iterator[TokenInfo]:
        return iter(self._by_token[k] for k in sorted(self._by_token))

    # -- loaders -----------------------------------------------------------------
    def add_market_pair(self, tokens: list[str], outcomes: list[Any], *, condition_id: Any,
                        slug: Any, question: Any, neg_risk: Any,
                        tick_size: float | None) -> int:
        """Add one market's tokens; the metadata fields are checked to be strings
        (:class:`FeedError` naming the field), as they end up in events' ``extra``."""
        condition_id = _str_or_none(condition_id, "condition_id")
        slug = _str_or_none(slug, "slug")
        question = _str_or_none(question, "question")
        neg_risk = neg_risk if type(neg_risk) is bool else None
        outcomes = [o if o == "" else _str_or_none(o, "outcomes") for o in outcomes]
        added = 0
        pair = [t for t in tokens if t]
        for index, token in enumerate(tokens):
            if not token:
                continue
            outcome = outcomes[index] if index < len(outcomes) else None
            complement = next((t for t in pair if t != token), None) if len(pair) == 2 else None
            self.add(TokenInfo(
                token_id=token, condition_id=condition_id, outcome=outcome,
                outcome_index=index, slug=slug, question=question, neg_risk=neg_risk,
                tick_size=tick_size, complement=complement))
            added += 1
        return added

    def add_clob_market(self, market: dict[str, Any]) -> int:
        """One CLOB ``/markets`` entry: ``condition_id``, ``tokens[{token_id, outcome}]``."""
        tokens = market.get("tokens") or []
        if not isinstance(tokens, list):
            raise FeedError("expected a list", field="tokens")
        return self.add_market_pair(
            [_str_or_none(t.get("token_id"), "tokens.token_id") or ""
             for t in tokens if isinstance(t, dict)],
            [t.get("outcome") for t in tokens if isinstance(t, dict)],
            condition_id=market.get("condition_id"), slug=market.get("market_slug"),
            question=market.get("question"), neg_risk=market.get("neg_risk"),
            tick_size=_float_or_none(market.get("minimum_tick_size")))

    def add_gamma_market(self, market: dict[str, Any]) -> int:
        """One Gamma market: ``clobTokenIds`` and ``outcomes`` are JSON-encoded strings."""
        tokens = [_str_or_none(t, "clobTokenIds") or ""
                  for t in _json_list(market.get("clobTokenIds"), "clobTokenIds")]
        outcomes = _json_list(market.get("outcomes"), "outcomes")
        return self.add_market_pair(
            tokens, outcomes, condition_id=market.get("conditionId"), slug=market.get("slug"),
            question=market.get("question"), neg_risk=market.get("negRisk"),
            tick_size=_float_or_none(market.get("orderPriceMinTickSize")))

    def add_new_market_frame(self, frame: dict[str, Any]) -> int:
        """A market-channel ``new_market`` frame (``custom_feature_enabled``)."""
        tokens = frame.get("clob_token_ids") or frame.get("assets_ids") or []
        return self.add_market_pair(
            [_str_or_none(t, "assets_ids") or "" for t in _json_list(tokens, "assets_ids")],
            _json_list(frame.get("outcomes"), "outcomes"),
            condition_id=frame.get("condition_id") or frame.get("market"),
            slug=frame.get("slug"), question=frame.get("question"), neg_risk=None,
            tick_size=_float_or_none(frame.get("order_price_min_tick_size")))

    def load_payload(self, payload: Any, _depth: int = 0) -> int:
        """Any metadata payload: a CLOB page ``{"data": [...]}``, a list, or one market.

        CLOB entries (``condition_id`` + ``tokens``) and Gamma entries
        (``conditionId`` + ``clobTokenIds``) are told apart by their keys;
        Gamma events (``markets: [...]``) are walked. Returns tokens added.
        """
        if _depth > _MAX_PAYLOAD_DEPTH:
            raise FeedError("market metadata nested too deep")
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            return self.load_payload(payload["data"], _depth + 1)
        if isinstance(payload, list):
            return sum(self.load_payload(item, _depth + 1) for item in payload)
        if not isinstance(payload, dict):
            raise FeedError(f"expected market metadata, got {type(payload).__name__}")
        if "tokens" in payload and "condition_id" in payload:
            return self.add_clob_market(payload)
        if "clobTokenIds" in payload:
            return self.add_gamma_market(payload)
        if isinstance(payload.get("markets"), list):  # a Gamma event
            return self.load_payload(payload["markets"], _depth + 1)
        raise FeedError("not CLOB or Gamma market metadata (no tokens/clobTokenIds)")

    @classmethod
    def from_payload(cls, payload: Any) -> TokenMap:
        tm = cls()
        tm.load_payload(payload)
        return tm

    @classmethod
    def from_file(cls, path: str | Path) -> TokenMap:
        """A saved ``/markets`` page, Gamma response, or JSON Lines of either."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise FeedError(f"cannot read token map: {exc.strerror}", source=str(p)) from None
        tm = cls()
        try:
            tm.load_payload(orjson.loads(data))
            return tm
        except orjson.JSONDecodeError:
            pass
        except FeedError as exc:
            raise FeedError(exc.reason, source=str(p), field=exc.field) from None
        for number, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                tm.load_payload(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise FeedError(f"not JSON: {exc}", source=str(p), line=number) from None
            except FeedError as exc:
                raise FeedError(exc.reason, source=str(p), line=number, field=exc.field) from None
        return tm
