"""The Kirilenko actor profiler: per-actor features, flushed as classified profiles.

How it works (the core's how-it-works steps 3 to 5): every order event with
an ``actor_id`` updates that actor's live :class:`ActorState`; on the actor's
first event and every ``profile_refresh_event_interval`` events after, the
profiler returns an :class:`ActorProfile` (features plus taxonomy
probabilities), which the engine stores and audits. Below
``profile_min_events`` the profile carries the event count and the uniform
prior only: no label is guessed from a handful of events.

Memory is bounded: at most ``max_actors`` actors are kept (the least recently
active is dropped first), each actor tracks at most ``max_markets_per_actor``
markets by name, and ``evict_idle`` drops actors silent since a given time.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from horizon_flow_core.events import ORDER_KINDS, MarketEvent
from horizon_flow_core.profiles import ActorProfile, uniform_prior

from .features import NS_PER_S, ActorState
from .taxonomy import TaxonomyConfig, classify_scores, rule_scores

log = logging.getLogger("horizon_flow.profiling")

_Key = tuple[str, str]

#: How many events pass between automatic idle sweeps when ``idle_evict_s`` is set.
_SWEEP_EVERY: Final = 4096

#: The prior of a profile too young to classify, copied (not rebuilt) per profile:
#: most profiles emitted are an actor's first (the seeds' "first-ever event" rule).
_UNIFORM_PRIOR: Final = uniform_prior()


def _at_least_one(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _count(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be an integer >= 0, got {value!r}")


def _non_negative(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{attribute.name} must be a number >= 0, got {value!r}")


def _taxonomy(value: Any) -> TaxonomyConfig:
    if isinstance(value, TaxonomyConfig):
        return value
    if value is None:
        return TaxonomyConfig()
    if isinstance(value, Mapping):
        return TaxonomyConfig(**value)
    # Any attrs-like object with the same field names (a core-side copy).
    return TaxonomyConfig(**{a.name: getattr(value, a.name) for a in attrs.fields(TaxonomyConfig)
                             if hasattr(value, a.name)})


@attrs.frozen
class ProfilerConfig:
    """Settings of :class:`KirilenkoProfiler`.

    ``profile_min_events`` and ``profile_refresh_event_interval`` are the
    core's ``[actors]`` keys. ``max_actors``: actors kept in memory (least
    recently active dropped first). ``max_markets_per_actor``: markets tracked
    by name per actor; fills in further markets are pooled. ``idle_evict_s``:
    when > 0, actors silent for this long (in event time) are dropped by a
    periodic sweep; 0 leaves eviction to :meth:`KirilenkoProfiler.evict_idle`.
    """

    profile_min_events: int = attrs.field(default=30, validator=_count)
    profile_refresh_event_interval: int = attrs.field(default=50, validator=_at_least_one)
    max_actors: int = attrs.field(default=100_000, validator=_at_least_one)
    max_markets_per_actor: int = attrs.field(default=256, validator=_at_least_one)
    idle_evict_s: float = attrs.field(default=0.0, validator=_non_negative)
    taxonomy: TaxonomyConfig = attrs.field(factory=TaxonomyConfig, converter=_taxonomy)

    @classmethod
    def from_any(cls, source: Any) -> ProfilerConfig:
        """Build from the core's ``[actors]`` section, a mapping, a FlowConfig, or None.

        Fields the source does not have keep their defaults, so the core's
        section may carry only the two keys it owns.
        """
        if source is None:
            return cls()
        if isinstance(source, cls):
            return source
        if isinstance(source, Mapping):
            known = {a.name for a in attrs.fields(cls)}
            return cls(**{k: v for k, v in source.items() if k in known})
        if not hasattr(source, "profile_min_events") and hasattr(source, "actors"):
            source = source.actors  # a whole FlowConfig was passed
        values = {a.name: getattr(source, a.name) for a in attrs.fields(cls)
                  if getattr(source, a.name, None) is not None}
        return cls(**values)


class KirilenkoProfiler:
    """Actor profiler with the Kirilenko taxonomy (implements the core's ``Profiler``)."""

    name = "kirilenko"
    #: Only order events are an actor's own activity; a ``trade.tape`` print
    #: would count an execution a second time on top of the fills.
    kinds: frozenset[str] | None = frozenset(ORDER_KINDS)

    def __init__(self, config: Any = None, *, taxonomy: TaxonomyConfig | None = None) -> None:
        cfg = ProfilerConfig.from_any(config)
        if taxonomy is not None:
            cfg = attrs.evolve(cfg, taxonomy=taxonomy)
        self.config = cfg
        self._min_events = cfg.profile_min_events
        self._interval = cfg.profile_refresh_event_interval
        self._max_actors = cfg.max_actors
        self._max_markets = cfg.max_markets_per_actor
        self._idle_ns = int(cfg.idle_evict_s * NS_PER_S)
        self._span_s = cfg.taxonomy.min_activity_span_s
        # Least recently active first: eviction pops from the front.
        self._actors: OrderedDict[_Key, ActorState] = OrderedDict()
        self._since_sweep = 0
        self.evicted = 0

    # ------------------------------------------------------------------ hot path

    def observe(self, event: MarketEvent, seq: int) -> ActorProfile | None:
        actor = event.actor_id
        if not actor or event.kind not in ORDER_KINDS:
            return None
        key = (event.venue, actor)
        actors = self._actors
        state = actors.get(key)
        if state is None:
            state = ActorState(event.venue, actor, self._max_markets)
            actors[key] = state
            if len(actors) > self._max_actors:
                actors.popitem(last=False)
                self.evicted += 1
        else:
            actors.move_to_end(key)
        before = state.update(event, seq)
        if self._idle_ns:
            self._since_sweep += 1
            if self._since_sweep >= _SWEEP_EVERY:
                self._since_sweep = 0
                self.evict_idle(event.ts - self._idle_ns)
        if before % self._interval == 0:
            state.dirty = False
            return self._snapshot(state, seq)
        return None

    # ------------------------------------------------------------------ queries

    def profile(self, venue: str, actor_id: str) -> ActorProfile | None:
        """The actor's profile as of now (does not count as a flush)."""
        state = self._actors.get((venue, actor_id))
        return None if state is None else self._snapshot(state, state.last_seq)

    def finish(self, seq: int) -> Iterable[ActorProfile]:
        """Final snapshots of actors changed since their last flush, sorted by (venue, actor)."""
        out = []
        for key in sorted(k for k, s in self._actors.items() if s.dirty):
            state = self._actors[key]
            state.dirty = False
            out.append(self._snapshot(state, seq))
        return out

    def evict_idle(self, before_ts: int) -> list[ActorProfile]:
        """Drop actors whose last event is before ``before_ts``.

        Returns the final snapshots of the dropped actors that changed since
        their last flush (sorted by venue and actor), so a caller can persist
        the last word on them.
        """
        # The dict is in order of last activity, so the idle actors are at its
        # front: the sweep costs what it evicts, not the number of actors. (An
        # out-of-order feed may leave an idle actor behind a busier one until
        # a later sweep; ``max_actors`` bounds memory regardless.)
        actors = self._actors
        dropped: list[ActorState] = []
        while actors:
            key = next(iter(actors))
            if actors[key].last_ts >= before_ts:
                break
            dropped.append(actors.pop(key))
        self.evicted += len(dropped)
        if dropped:
            log.debug("evicted %d idle actors (before ts %d)", len(dropped), before_ts)
        dropped.sort(key=lambda st: (st.venue, st.actor_id))
        return [self._snapshot(st, st.last_seq) for st in dropped if st.dirty]

    @property
    def actor_count(self) -> int:
        return len(self._actors)

    # ------------------------------------------------------------------ snapshots

    def _snapshot(self, state: ActorState, seq: int) -> ActorProfile:
        if state.event_count < self._min_events:
            # Too few events to classify: say so rather than guess. (Most
            # profiles are these; the arguments are positional, in the field
            # order venue, actor_id, event_count, features, taxonomy,
            # last_updated_seq, ts: keywords cost a name match each.)
            n = state.event_count
            return ActorProfile(state.venue, state.actor_id, n, {"event_count": n},
                                _UNIFORM_PRIOR.copy(), seq, state.last_ts)
        features = state.features(self._span_s)
        scores = rule_scores(features, self.config.taxonomy)
        probs = classify_scores(scores)
        features["taxonomy_rules"] = {k: round(v, 12) + 0.0 for k, v in scores.items()}
        return ActorProfile(state.venue, state.actor_id, state.event_count, features, probs, seq,
                            state.last_ts)
