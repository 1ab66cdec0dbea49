from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import cattrs
import pytest
from horizon_flow_alert_apprise import plugin
from horizon_flow_alert_apprise.config import RouteConfig, route_configs, structure_route
from horizon_flow_alert_apprise.schedule import Schedule, parse_window


def test_defaults_are_valid_and_url_env_accepts_a_name_or_a_list() -> None:
    assert RouteConfig().url_env == ()
    assert RouteConfig(url_env="DESK_URL").url_env == ("DESK_URL",)
    assert RouteConfig(url_env=["A", "B_2"]).url_env == ("A", "B_2")
    assert RouteConfig().problems() == ["url_env is empty: the route has nowhere to deliver"]


def test_a_url_in_the_config_is_rejected_without_echoing_it() -> None:
    secret = "json://user:hunter2secret@hooks.example.com/T0KEN"
    with pytest.raises(ValueError) as err:
        RouteConfig(url_env=secret)
    text = str(err.value)
    assert "url_env" in text and "looks like a URL" in text
    assert "hunter2secret" not in text and "T0KEN" not in text
    with pytest.raises(ValueError, match="looks like a URL"):
        RouteConfig(url_env=["OK_NAME", "slack://a/b/c"])


@pytest.mark.parametrize("kwargs, needle", [
    ({"url_env": "1BAD"}, "not an environment variable name"),
    ({"severity_min": "urgent"}, "severity_min"),
    ({"confidence_min": 1.5}, "confidence_min"),
    ({"windows": ["25:00-26:00"]}, "windows"),
    ({"windows": ["9-17"]}, "HH:MM-HH:MM"),
    ({"windows": ["10:00-10:00"]}, "empty"),
    ({"weekdays": ["funday"]}, "weekday"),
    ({"timezone": "Mars/Olympus"}, "IANA"),
    ({"title_template": "{nonsense}"}, "unknown field {nonsense}"),
    ({"body_template": "{}"}, "must be named"),
    ({"body_template": "{confidence:.2q}"}, "cannot be rendered"),
    ({"body_template": "{message[0]}"}, "only evidence"),
    ({"title_template": "{category"}, "not a valid format string"),
    ({"retries": 50}, "retries"),
    ({"queue_size": 0}, "queue_size"),
    ({"rate_window_s": 0}, "rate_window_s"),
])
def test_bad_values_are_one_line_errors_naming_the_field(kwargs: dict, needle: str) -> None:
    with pytest.raises(ValueError) as err:
        RouteConfig(**kwargs)
    assert needle in str(err.value)
    assert "\n" not in str(err.value).split("; known fields")[0]


def test_templates_may_index_evidence_and_severity_is_case_insensitive() -> None:
    cfg = RouteConfig(body_template="size {evidence[bait_size]:.0f} {SEVERITY}",
                      severity_min="HIGH", escalate_severity="Medium")
    assert cfg.severity_min == "high" and cfg.escalate_severity == "medium"


def test_structure_route_names_file_keys_and_types() -> None:
    with pytest.raises(ValueError, match=r"alerts.routes.desk: unknown key 'url'.*environment"):
        structure_route("desk", {"url": "json://x"})
    with pytest.raises(ValueError, match=r"alerts.routes.desk.rate_limit: expected an integer"):
        structure_route("desk", {"rate_limit": "ten"})
    with pytest.raises(ValueError, match=r"alerts.routes.desk.digest: expected true or false"):
        structure_route("desk", {"digest": "yes"})
    with pytest.raises(ValueError, match=r"alerts.routes.desk.url_env: .*URL"):
        structure_route("desk", {"url_env": "mailto://a:b@c"})
    ok = structure_route("desk", {"url_env": "D", "categories": ["spoofing"], "rate_limit": 5,
                                  "dedupe_window_s": 60})
    assert ok.rate_limit == 5 and ok.dedupe_window_s == 60.0


def test_cattrs_structures_the_table_like_the_core_loader_will() -> None:
    conv = cattrs.Converter(forbid_extra_keys=True)
    cfg = conv.structure({"url_env": ["A"], "categories": ["spoofing", "feed.*"],
                          "windows": ["13:00-21:00"], "timezone": "America/New_York"},
                         RouteConfig)
    assert cfg.categories == ("spoofing", "feed.*")
    # cattrs splits a bare string given for a list into characters: caught with a hint
    with pytest.raises(Exception) as err:
        conv.structure({"categories": "spoofing"}, RouteConfig)
    assert "looks like one string split into characters" in repr(err.value)
    with pytest.raises(Exception) as err:
        conv.structure({"url_env": "https://hooks.example.com/secret-token-x"}, RouteConfig)
    assert "secret-token-x" not in repr(err.value)


def test_route_configs_accepts_instances_and_plain_tables_sorted() -> None:
    routes = route_configs({"b": {"url_env": "B"}, "a": RouteConfig(url_env="A")})
    assert list(routes) == ["a", "b"] and routes["b"].url_env == ("B",)
    assert route_configs(None) == {}


def test_plugin_registers_config_section_and_router() -> None:
    (section,) = plugin.flow_config_sections()
    assert section.path == "alerts.routes.*" and section.config_class is RouteConfig
    (spec,) = plugin.flow_alert_routers()
    assert spec.name == "apprise"
    assert plugin.HORIZON_FLOW_PLUGIN_API == 1


def _ns(y: int, mo: int, d: int, h: int, mi: int, tz: str = "UTC") -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).timestamp()) * 1_000_000_000


def test_schedule_windows_weekdays_and_time_zone() -> None:
    s = Schedule.build(("13:00-21:00",), (), "UTC")
    assert s.is_open(_ns(2024, 11, 21, 13, 0))
    assert s.is_open(_ns(2024, 11, 21, 20, 59))
    assert not s.is_open(_ns(2024, 11, 21, 21, 0))
    assert not s.is_open(_ns(2024, 11, 21, 12, 59))
    night = Schedule.build(("22:00-06:00",), (), "UTC")
    assert night.is_open(_ns(2024, 11, 21, 23, 30)) and night.is_open(_ns(2024, 11, 22, 5, 59))
    assert not night.is_open(_ns(2024, 11, 22, 6, 0))
    weekdays = Schedule.build(("09:30-16:00",), ("mon", "Tuesday", "wed", "thu", "fri"),
                              "America/New_York")
    # 2024-11-21 is a Thursday; 09:30 New York is 14:30 UTC (EST, UTC-5)
    assert weekdays.is_open(_ns(2024, 11, 21, 14, 30))
    assert not weekdays.is_open(_ns(2024, 11, 21, 14, 29))
    assert not weekdays.is_open(_ns(2024, 11, 23, 15, 0))  # Saturday
    # in July New York is UTC-4: 09:30 local is 13:30 UTC
    assert weekdays.is_open(_ns(2024, 7, 10, 13, 30))
    assert parse_window("00:00-24:00") == (0, 1440)
    assert Schedule.build((), (), "UTC").always_open
