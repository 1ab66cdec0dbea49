"""horizon-flow alert routing through apprise.

Routes (``[alerts.routes.<name>]``, :class:`RouteConfig`) filter findings and
operational events, control fatigue (dedupe, rate limit with digest,
escalation, time windows) and deliver explained alerts to any apprise URL
held in environment variables, from a bounded queue and worker per route.
"""

from __future__ import annotations

from .config import RouteConfig
from .deadletters import JsonlDeadLetters
from .router import AppriseRouter

__all__ = ["AppriseRouter", "JsonlDeadLetters", "RouteConfig"]
