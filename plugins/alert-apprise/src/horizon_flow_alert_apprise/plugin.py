"""Entry point ``apprise`` of ``horizon-flow-alert-apprise``: registers the router,
its config section and the ``flow alerts`` commands."""

from __future__ import annotations

from typing import Any

from horizon_flow_core.hookspecs import hookimpl
from horizon_flow_core.specs import AlertRouterSpec, ConfigSection

from .config import RouteConfig
from .router import AppriseRouter

HORIZON_FLOW_PLUGIN_API = 1


@hookimpl
def flow_config_sections() -> list[ConfigSection]:
    return [ConfigSection("alerts.routes.*", RouteConfig,
                          description="an apprise alert route (URLs from env vars)")]


@hookimpl
def flow_alert_routers() -> list[AlertRouterSpec]:
    return [AlertRouterSpec(name="apprise", factory=AppriseRouter.from_runtime,
                            description="routes findings and operational events to apprise "
                                        "URLs, with dedupe, rate limit, digest and escalation")]


@hookimpl
def flow_commands(app: Any) -> None:
    from .cli import register

    register(app)
