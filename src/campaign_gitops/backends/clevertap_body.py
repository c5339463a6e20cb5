"""Our campaign spec <-> CleverTap's create body (../shared/clevertap-api.md), both ways, and the
list of what the body cannot express: the plan shows those campaigns as manual."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

TARGET_MODES = {
    "push": "push",
    "email": "email",
    "sms": "sms",
    "web_push": "webpush",
    "webhook": "webhook",
    "app_inbox": "notificationinbox",
    "whatsapp": "whatsapp",
}
CHANNELS = {mode: channel for channel, mode in TARGET_MODES.items()}
DELIVERIES = ("now", "on_date_time", "multiple_dates")
# content fields the body carries, per channel: ours -> theirs
CONTENT = {
    "push": {"title": "title", "body": "body"},
    "web_push": {"title": "title", "body": "body"},
    "email": {"subject": "subject", "body": "body", "sender_name": "sender_name"},
    "sms": {"body": "body"},
    "app_inbox": {"title": "title", "body": "body"},
    "whatsapp": {"template": "template_name", "language": "language"},
}
OPERATORS = {"equals": "equals", "not_equals": "not_equals", "greater_than": "greater_than",
             "less_than": "less_than", "contains": "contains"}  # fmt: skip
MARKER = re.compile(r"^(?P<name>.*) \[(?P<key>[a-z0-9][a-z0-9-]*)\]$")
UNIT_DAYS = {"d": 1, "w": 7}


def platform_name(name: str, key: str) -> str:
    """The name sent: ours plus the campaign id, the marker that finds a campaign again (the list
    API returns names, not content) and tells a create that landed from one that did not."""
    return f"{name} [{key}]"


def split_name(name: str) -> tuple[str, str | None]:
    found = MARKER.match(name)
    return (found["name"], found["key"]) if found else (name, None)


def _stamp(value: str) -> str:
    """ISO 8601 -> "YYYYMMDD HH:MM" in UTC (the account's time zone must be UTC)."""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y%m%d %H:%M")


def _iso(stamp: str) -> str:
    return datetime.strptime(stamp, "%Y%m%d %H:%M").replace(tzinfo=UTC).isoformat()


def _days(duration: str) -> int | None:
    found = re.fullmatch(r"(\d+)([mhdw])", duration)
    if not found or found[2] not in UNIT_DAYS:
        return None
    return int(found[1]) * UNIT_DAYS[found[2]]


def unsupported(spec: dict[str, Any]) -> list[str]:
    """Every part of `spec` the create body cannot express."""
    out: list[str] = []
    channel = spec.get("channel", "")
    if channel not in TARGET_MODES:
        return [f"channel {channel} has no target_mode in the API"]
    if spec.get("type", "single_message") != "single_message":
        out.append(f"type {spec['type']} (the body has one message)")
    when = spec.get("when") or {}
    if when.get("delivery") not in DELIVERIES:
        out.append(f"delivery {when.get('delivery')} (the API schedules now or at dates)")
    if when.get("end"):
        out.append("when.end")
    prefs = when.get("preferences") or {}
    for name in ("dnd", "best_time", "cutoff"):
        if prefs.get(name):
            out.append(f"when.preferences.{name}")
    if prefs.get("ignore_global_limits"):
        out.append("when.preferences.ignore_global_limits")
    segment = (spec.get("who") or {}).get("segment") or {}
    for name, value in segment.items():
        if value and name not in ("user_properties", "past_behavior"):
            out.append(f"who.segment.{name}")
    for prop in segment.get("user_properties") or []:
        if prop.get("op", "equals") not in OPERATORS:
            out.append(f"who.segment.user_properties operator {prop.get('op')}")
    past = segment.get("past_behavior") or {}
    did = past.get("did") or []
    if past.get("did_not") or len(did) > 1:
        out.append("who.segment.past_behavior beyond one event")
    for event in did:
        if event.get("count") or event.get("properties") or not event.get("within"):
            out.append("who.segment.past_behavior.did beyond an event within a number of days")
        elif _days(event["within"]) is None:
            out.append("who.segment.past_behavior.did.within in minutes or hours")
    goal = spec.get("goal") or {}
    if goal.get("filters"):
        out.append("goal.filters")
    cap = (spec.get("who") or {}).get("targeting_cap") or {}
    if cap.get("per") == "day":
        out.append("who.targeting_cap per day")
    for item in _contents(spec):
        fields = CONTENT.get(channel, {})
        extra = sorted(k for k, v in item.items() if v and k not in fields and k != "deep_link")
        if channel == "webhook":
            extra = [k for k in extra if k not in ("endpoint", "fields", "key_values")]
        if extra:
            out.append(f"what.content {', '.join(extra)}")
    return out


def _contents(spec: dict[str, Any]) -> list[dict[str, Any]]:
    content = (spec.get("what") or {}).get("content")
    return [content] if isinstance(content, dict) else []


def to_body(spec: dict[str, Any], key: str, now: datetime) -> dict[str, Any]:
    """The create body of a spec `unsupported()` finds nothing wrong with."""
    channel = spec["channel"]
    content = _contents(spec)[0]
    body: dict[str, Any] = {
        "name": platform_name(spec["name"], key),
        "target_mode": TARGET_MODES[channel],
        "respect_frequency_caps": spec["when"]
        .get("preferences", {})
        .get("respect_frequency_caps", True),
    }
    if channel == "webhook":
        body["webhook_endpoint_name"] = content["endpoint"]
        body["webhook_fields"] = content.get("fields", ["identity"])
        if content.get("key_values"):
            body["webhook_key_value"] = content["key_values"]
    else:
        mapped = {
            theirs: content[ours] for ours, theirs in CONTENT[channel].items() if ours in content
        }
        if content.get("deep_link"):
            link = {"deep_link": content["deep_link"]}
            mapped["platform_specific"] = {"ios": link, "android": link}
        body["content"] = mapped
    segment = (spec.get("who") or {}).get("segment") or {}
    where: dict[str, Any] = {}
    for event in (segment.get("past_behavior") or {}).get("did") or []:
        days = _days(event["within"]) or 0
        where |= {
            "event_name": event["event"],
            "from": int((now - timedelta(days=days)).strftime("%Y%m%d")),
            "to": int(now.strftime("%Y%m%d")),
        }
    if segment.get("user_properties"):
        where["common_profile_properties"] = {
            "profile_fields": [
                {
                    "name": p["name"],
                    "operator": OPERATORS[p.get("op", "equals")],
                    "value": p["value"],
                }
                for p in segment["user_properties"]
            ]
        }
    if where:
        body["where"] = where
    when = spec["when"]
    if when["delivery"] == "now":
        body["when"] = "now"
    else:
        dates = when.get("dates") or [when["start"]]
        body["when"] = {"type": "later", "delivery_date_time": [_stamp(d) for d in dates]}
        if when.get("preferences", {}).get("user_timezone"):
            body["when"]["delivery_timezone"] = "user"
    who = spec.get("who") or {}
    group = who.get("control_group") or {}
    if group.get("percent") is not None:
        body["control_group"] = {"type": "campaign", "percentage": group["percent"]}
    elif group.get("custom"):
        body["control_group"] = {"type": "custom", "name": group["custom"]}
    cap = who.get("targeting_cap") or {}
    if cap.get("limit"):
        body["users_limit_per_run" if cap.get("per") == "run" else "users_limit_overall"] = cap[
            "limit"
        ]
    if cap.get("safety_limit"):
        body["upper_cap_for_target_segment"] = cap["safety_limit"]
    goal = spec.get("goal")
    if goal:
        goal_days = _days(goal["within"])
        body["conversion_goal"] = {
            "event_name": goal["event"],
            "filter_type": "event",
            "conversion_time": f"{goal_days}D" if goal_days else goal["within"].upper(),
        } | ({"revenue_property": goal["revenue_property"]} if goal.get("revenue_property") else {})
    ttl = content.get("ttl_hours")
    if ttl:
        body["ttl"] = ttl * 60
    return body


def from_body(body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The spec a create body expresses (for import where a body is known); `to_body` of it
    gives the body back."""
    name, _ = split_name(body["name"])
    channel = CHANNELS[body["target_mode"]]
    if channel == "webhook":
        content: dict[str, Any] = {"endpoint": body["webhook_endpoint_name"],
                                   "fields": body.get("webhook_fields", ["identity"])}  # fmt: skip
        if body.get("webhook_key_value"):
            content["key_values"] = body["webhook_key_value"]
    else:
        theirs = body.get("content") or {}
        content = {ours: theirs[t] for ours, t in CONTENT[channel].items() if t in theirs}
        link = ((theirs.get("platform_specific") or {}).get("android") or {}).get("deep_link")
        if link:
            content["deep_link"] = link
    if body.get("ttl"):
        content["ttl_hours"] = body["ttl"] // 60
    spec: dict[str, Any] = {"name": name, "channel": channel, "what": {"content": content}}
    segment: dict[str, Any] = {}
    where = body.get("where") or {}
    if where.get("event_name"):
        start = datetime.strptime(str(where["from"]), "%Y%m%d").replace(tzinfo=UTC)
        end = datetime.strptime(str(where["to"]), "%Y%m%d").replace(tzinfo=UTC)
        segment["past_behavior"] = {
            "did": [{"event": where["event_name"], "within": f"{(end - start).days}d"}]
        }
    fields = (where.get("common_profile_properties") or {}).get("profile_fields") or []
    if fields:
        segment["user_properties"] = [
            {"name": f["name"], "op": f["operator"], "value": f["value"]} for f in fields
        ]
    who: dict[str, Any] = {"segment": segment}
    group = body.get("control_group") or {}
    if group.get("type") == "campaign":
        who["control_group"] = {"percent": group["percentage"]}
    elif group.get("type") == "custom":
        who["control_group"] = {"custom": group["name"]}
    cap: dict[str, Any] = {}
    if body.get("users_limit_per_run"):
        cap = {"limit": body["users_limit_per_run"], "per": "run"}
    elif body.get("users_limit_overall"):
        cap = {"limit": body["users_limit_overall"], "per": "campaign"}
    if body.get("upper_cap_for_target_segment"):
        cap["safety_limit"] = body["upper_cap_for_target_segment"]
    if cap:
        who["targeting_cap"] = cap
    spec["who"] = who
    when_body: Any = body.get("when")
    prefs = {"respect_frequency_caps": body.get("respect_frequency_caps", True)}
    if when_body == "now" or not isinstance(when_body, dict):
        spec["when"] = {"delivery": "now", "preferences": prefs}
    else:
        dates = [_iso(d) for d in when_body["delivery_date_time"]]
        if when_body.get("delivery_timezone") == "user":
            prefs["user_timezone"] = True
        if len(dates) == 1:
            spec["when"] = {"delivery": "on_date_time", "start": dates[0], "preferences": prefs}
        else:
            spec["when"] = {"delivery": "multiple_dates", "dates": dates, "preferences": prefs}
    goal = body.get("conversion_goal")
    if goal:
        within = goal["conversion_time"]
        spec["goal"] = {"event": goal["event_name"], "within": within.lower()}
        if goal.get("revenue_property"):
            spec["goal"]["revenue_property"] = goal["revenue_property"]
    return spec
