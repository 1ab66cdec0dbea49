"""Which subscriptions go on which connection, within the venue's limits.

The venue allows, per IP, about 1000 subscriptions and 10 distinct wallets in
user subscriptions (``subscription_cap``, ``max_users``). ``orderUpdates``
and ``user`` frames do not say which wallet they are about, so each watched
wallet gets a connection of its own (a *wallet lane*) and the source can
attribute its frames. Market subscriptions (``trades``, ``l2Book``, ``bbo``
per coin) are packed onto the remaining connections, a coin's subscriptions
always together, at most ``max_subscriptions_per_connection`` per connection
where the connection budget allows. What does not fit is dropped, wallets
last, and reported.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from .config import HyperliquidConfig

#: Frame ``channel`` of each subscription type (``userEvents`` arrive as ``user``).
CHANNEL_OF: dict[str, str] = {"trades": "trades", "l2Book": "l2Book", "bbo": "bbo",
                              "orderUpdates": "orderUpdates", "userFills": "userFills",
                              "userEvents": "user"}


@attrs.frozen
class Subscription:
    type: str
    coin: str | None = None
    user: str | None = None

    def message(self, method: str = "subscribe") -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type}
        if self.coin is not None:
            body["coin"] = self.coin
        if self.user is not None:
            body["user"] = self.user
        return {"method": method, "subscription": body}

    @property
    def stream(self) -> tuple[str, str]:
        """``(channel, coin or wallet)``: how frames of this subscription are recognised."""
        return CHANNEL_OF[self.type], (self.coin or self.user or "*")


@attrs.frozen
class ConnectionPlan:
    name: str
    subscriptions: tuple[Subscription, ...]
    wallet: str | None = None  # a wallet lane: its user frames are about this wallet
    markets: tuple[str, ...] = ()  # coins whose data this connection carries


@attrs.frozen
class Plan:
    connections: tuple[ConnectionPlan, ...]
    dropped_coins: tuple[str, ...] = ()
    dropped_wallets: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def subscription_count(self) -> int:
        return sum(len(c.subscriptions) for c in self.connections)


def plan_connections(coins: list[str] | tuple[str, ...], config: HyperliquidConfig) -> Plan:
    warnings: list[str] = []
    coins = list(dict.fromkeys(coins))  # de-duplicated, order kept
    wallets = list(config.wallets)
    per_wallet = len(config.wallet_channels)
    per_coin = len(config.channels)
    dropped_wallets: list[str] = []

    def drop_wallets(keep: int, why: str) -> None:
        nonlocal wallets
        if len(wallets) > keep:
            dropped_wallets.extend(wallets[keep:])
            warnings.append(f"watching {keep} of {len(wallets)} wallets: {why}; "
                            f"not followed: {', '.join(wallets[keep:])}")
            wallets = wallets[:keep]

    if per_wallet:
        drop_wallets(config.max_users, f"max_users is {config.max_users}")
        drop_wallets(config.subscription_cap // per_wallet,
                     f"subscription_cap is {config.subscription_cap}")
        lanes_allowed = config.max_connections - (1 if coins and per_coin else 0)
        drop_wallets(max(0, lanes_allowed), f"max_connections is {config.max_connections}")
    else:
        wallets = []

    budget = config.subscription_cap - per_wallet * len(wallets)
    dropped_coins: list[str] = []
    if per_coin:
        fit = budget // per_coin
        if len(coins) > fit:
            dropped_coins = coins[fit:]
            warnings.append(f"following {fit} of {len(coins)} coins: subscription_cap is "
                            f"{config.subscription_cap}; not followed: "
                            f"{', '.join(dropped_coins[:20])}"
                            f"{' ...' if len(dropped_coins) > 20 else ''}")
            coins = coins[:fit]
    else:
        coins = []

    connections: list[ConnectionPlan] = []
    if coins:
        coins_per_conn = max(1, config.max_subscriptions_per_connection // per_coin)
        n_conns = math.ceil(len(coins) / coins_per_conn)
        available = max(1, config.max_connections - len(wallets))
        if n_conns > available:
            warnings.append(f"{len(coins) * per_coin} market subscriptions on {available} "
                            f"connection(s): more than max_subscriptions_per_connection "
                            f"({config.max_subscriptions_per_connection}) each")
            n_conns = available
        chunk = math.ceil(len(coins) / n_conns)
        for i in range(n_conns):
            part = coins[i * chunk:(i + 1) * chunk]
            if not part:
                continue
            subs = tuple(Subscription(ch, coin=c) for c in part for ch in config.channels)
            connections.append(ConnectionPlan(f"market-{i}", subs, markets=tuple(part)))
    for w in wallets:
        subs = tuple(Subscription(ch, user=w) for ch in config.wallet_channels)
        connections.append(ConnectionPlan(f"wallet-{w}", subs, wallet=w))
    return Plan(tuple(connections), tuple(dropped_coins), tuple(dropped_wallets),
                tuple(warnings))
