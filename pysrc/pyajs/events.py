"""Building events in the shape of Segment's HTTP Tracking API.

The factory turns one call (its type, fields, options and page snapshot) into the dict that
is posted; identity is stamped from the User at call time, so an event describes the visitor
as they were when it was called, even if it is sent later.

Options follow Analytics.js: ``integrations`` is merged over the load-time integrations;
``anonymousId``, ``userId``, ``timestamp`` and ``messageId`` override the event's own;
``context`` is merged into the event's context (``context.page`` field by field); ``traits``
and every other key land in ``context``.
"""

from .clock import iso_utc, now_ms
from .ids import message_id
from .page import PAGE_FIELDS, campaign, page_context

_TOP_LEVEL = ("anonymousId", "userId", "timestamp", "messageId")
_LETTER = {"track": "t", "page": "p", "identify": "i", "group": "g", "alias": "a",
           "screen": "s"}


def endpoint_letter(event_type: str) -> str:
    """``track`` → ``t``: the tracking API path of each event type."""
    return _LETTER[event_type]


def bool_integrations(integrations) -> dict:
    """Load-time integrations as every event carries them: a settings object means ``True``."""
    if not isinstance(integrations, dict):
        return {}
    return {k: (v if isinstance(v, bool) else bool(v)) for k, v in integrations.items()}


# What the browser says of itself on every event's context; userAgentData only where the
# browser has it (Chromium, in a secure context).
ENV_KEYS = ("userAgent", "userAgentData", "locale", "timezone")


class EventFactory:
    """Makes Segment events for one write key and one browser environment."""

    def __init__(self, write_key: str, env, integrations: dict | None = None,
                 clock=now_ms):
        """``env`` (library, userAgent, userAgentData, locale, timezone: fixed for the
        page's life) is the dict, or a function that returns it, called when the first
        event is built: a browser takes tens of milliseconds to name its time zone the first
        time, which need not delay ``ready``."""
        self.write_key = write_key
        self._env = env
        self._library = None
        self._env_items = None
        self.integrations = bool_integrations(integrations or {})
        self.clock = clock

    def _read_env(self) -> None:
        env = self._env() if callable(self._env) else self._env
        self._library = env["library"]
        self._env_items = [(k, env[k]) for k in ENV_KEYS if env.get(k) is not None]

    def build(self, event_type: str, fields: dict, options: dict, snapshot: dict,
              user_id, anonymous_id: str, at_ms: int | None = None) -> dict:
        """One event; ``fields`` are the type's own (``event``, ``properties``, …). A
        snapshot taken by the snippet carries the ``messageId`` minted at call time (``i``):
        the same call sent before Python was ready keeps it, so the collector sees one."""
        at = self.clock() if at_ms is None else at_ms
        page = page_context(snapshot)
        if self._env_items is None:
            self._read_env()
        context = {"library": dict(self._library), "page": page}
        for key, value in self._env_items:
            context[key] = value
        utm = campaign(page["search"])
        if utm is not None:  # {} for a query string without utm_ (as Analytics.js)
            context["campaign"] = utm
        if event_type == "page":
            props = fields.get("properties")
            merged = {k: page[k] for k in PAGE_FIELDS}
            if fields.get("name"):
                merged["name"] = fields["name"]
            if fields.get("category"):
                merged["category"] = fields["category"]
            merged.update(props or {})
            fields = dict(fields)
            fields["properties"] = merged
            for k in PAGE_FIELDS:
                if k in merged:
                    page[k] = merged[k]
        integrations = dict(self.integrations)
        top = {}
        for key, value in options.items():
            if value is None:
                continue
            if key == "integrations":
                if isinstance(value, dict):
                    integrations.update(value)
            elif key in _TOP_LEVEL:
                top[key] = value
            elif key == "context":
                if isinstance(value, dict):
                    for ck, cv in value.items():
                        if ck == "page" and isinstance(cv, dict):
                            page.update(cv)
                        else:
                            context[ck] = cv
            else:
                context[key] = value
        # one literal: MicroPython sizes the dict once instead of growing it key by key
        event = {"type": event_type, "userId": user_id, "anonymousId": anonymous_id,
                 "context": context, "integrations": integrations,
                 "timestamp": iso_utc(at), "messageId": snapshot.get("i") or message_id(at)}
        event.update(fields)
        for key, value in top.items():
            if key == "timestamp" and isinstance(value, (int, float)):
                value = iso_utc(int(value))
            if key == "userId" and user_id is not None and event_type != "alias":
                continue  # the stored user id wins, as in Analytics.js
            event[key] = value
        event["writeKey"] = self.write_key
        return event
