"""Fault injection (only with --faults): make the next collector POSTs fail on purpose.

GET/POST/DELETE /api/faults queue, list and clear fault specs:

    {"mode": "status", "status": 503, "count": 3}            answer 503, store nothing
    {"mode": "status", "status": 429, "retryAfter": 2}       ... with Retry-After: 2
    {"mode": "stall", "seconds": 30}                         read, hold open, close unanswered
    {"mode": "drop"}                                         close without any answer
    {"mode": "random", "rate": 0.3, "statuses": [500, 503, 429, "drop"], "retryAfter": 1,
     "count": 100, "seed": 1}                                each of the next 100 fails w.p. 0.3

`count` defaults to 1; faults apply in the order queued; POST takes one object or an array.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .validation import MAX_BODY_BYTES, ApiError, error_body, reject_constant

if TYPE_CHECKING:
    from .http import DevHandler

FAULT_MODES = ("status", "stall", "drop", "random")
FAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("mode", "count", "status", "retryAfter"),
    "stall": ("mode", "count", "seconds"),
    "drop": ("mode", "count"),
    "random": ("mode", "count", "rate", "statuses", "retryAfter", "seed"),
}
MAX_FAULT_COUNT = 1_000_000
MAX_STALL_SECONDS = 3600.0
DROP = "drop"


@dataclass
class FaultAction:
    """What to do to one request: answer `status` (with Retry-After), stall, or drop."""

    kind: str  # "status" | "stall" | "drop"
    status: int | None = None
    retry_after: int | None = None
    seconds: float = 0.0


@dataclass
class Fault:
    """One queued fault spec, applied to the next `remaining` collector POSTs."""

    mode: str
    remaining: int
    status: int | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    rate: float = 0.0
    statuses: list[int | str] = dataclasses.field(default_factory=list)
    seed: int | str | None = None
    rng: random.Random = dataclasses.field(default_factory=random.Random, repr=False)

    def describe(self) -> dict[str, Any]:
        """The spec as the API shows it (count = how many requests it still applies to)."""
        out: dict[str, Any] = {"mode": self.mode, "count": self.remaining}
        if self.mode == "status":
            out["status"] = self.status
        elif self.mode == "stall":
            out["seconds"] = self.seconds
        elif self.mode == "random":
            out.update(rate=self.rate, statuses=list(self.statuses), seed=self.seed)
        if self.retry_after is not None:
            out["retryAfter"] = self.retry_after
        return out

    def next_action(self) -> FaultAction | None:
        """Consume one request's worth of this fault; None means "let it through"."""
        self.remaining -= 1
        if self.mode == "status":
            return FaultAction("status", self.status, self.retry_after)
        if self.mode == "stall":
            return FaultAction("stall", seconds=self.seconds)
        if self.mode == "drop":
            return FaultAction("drop")
        if self.rng.random() >= self.rate:
            return None
        choice = self.rng.choice(self.statuses)
        if choice == DROP:
            return FaultAction("drop")
        assert isinstance(choice, int)
        return FaultAction("status", choice, self.retry_after if choice == 429 else None)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _error_status(value: Any) -> bool:
    return _is_int(value) and 400 <= value <= 599


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def parse_fault(spec: Any, prefix: str = "") -> Fault:
    """Validate one fault spec from POST /api/faults; ApiError(400) names the bad field."""
    where = prefix[:-1] if prefix.endswith(".") else (prefix or "body")
    if not isinstance(spec, dict):
        raise ApiError(400, f"{where}: must be a JSON object")

    def bad(name: str, what: str) -> ApiError:
        return ApiError(400, f"{prefix}{name}: {what}")

    mode = spec.get("mode")
    if mode not in FAULT_MODES:
        raise bad("mode", f"required, one of {', '.join(FAULT_MODES)} (got {mode!r})")
    for name in spec:
        if name not in FAULT_FIELDS[mode]:
            allowed = ", ".join(FAULT_FIELDS[mode])
            raise bad(name, f"unknown field for mode {mode!r} (allowed: {allowed})")
    count = spec.get("count", 1)
    if not _is_int(count) or not 1 <= count <= MAX_FAULT_COUNT:
        raise bad("count", f"must be an integer from 1 to {MAX_FAULT_COUNT}")
    retry_after = spec.get("retryAfter")
    if retry_after is not None and (not _is_int(retry_after) or retry_after < 0):
        raise bad("retryAfter", "must be a non-negative integer (seconds)")
    fault = Fault(mode, count, retry_after=retry_after)
    if mode == "status":
        if not _error_status(spec.get("status")):
            raise bad("status", "required integer HTTP status from 400 to 599")
        fault.status = spec["status"]
    elif mode == "stall":
        seconds = spec.get("seconds")
        if not _is_number(seconds) or not 0 < seconds <= MAX_STALL_SECONDS:
            raise bad(
                "seconds", f"required number of seconds, over 0 and at most {MAX_STALL_SECONDS:g}"
            )
        fault.seconds = float(seconds)
    elif mode == "random":
        rate = spec.get("rate")
        if not _is_number(rate) or not 0 <= rate <= 1:
            raise bad("rate", "required number from 0 to 1 (probability a request fails)")
        statuses = spec.get("statuses", [500, 503, 429])
        if (
            not isinstance(statuses, list)
            or not statuses
            or not all(_error_status(s) or s == DROP for s in statuses)
        ):
            raise bad("statuses", 'must be a non-empty array of 400-599 statuses or "drop"')
        seed = spec.get("seed")
        if seed is not None and not (_is_int(seed) or isinstance(seed, str)):
            raise bad("seed", "must be an integer or a string")
        fault.rate = float(rate)
        fault.statuses = list(statuses)
        fault.seed = seed
        fault.rng = random.Random(seed)
    return fault


class FaultQueue:
    """Faults waiting to be applied, in order, to the next collector POSTs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: deque[Fault] = deque()

    def add(self, faults: Iterable[Fault]) -> None:
        with self.lock:
            self.pending.extend(faults)

    def describe(self) -> list[dict[str, Any]]:
        with self.lock:
            return [fault.describe() for fault in self.pending]

    def clear(self) -> int:
        with self.lock:
            cleared = len(self.pending)
            self.pending.clear()
            return cleared

    def take(self) -> FaultAction | None:
        """The action for the next request (None: serve it normally)."""
        with self.lock:
            if not self.pending:
                return None
            fault = self.pending[0]
            action = fault.next_action()
            if fault.remaining <= 0:
                self.pending.popleft()
            return action


def route_faults(h: DevHandler, method: str, path: str, query: str) -> None:
    """/api/faults: list (GET), queue (POST) and clear (DELETE) faults."""
    faults = h.server.faults
    if faults is None:
        raise ApiError(404, "no such endpoint: /api/faults (start serve.py with --faults)")
    allowed = "GET, POST, DELETE, OPTIONS"
    no_store = {"Cache-Control": "no-store"}
    if method == "GET":
        h.send_json(200, {"pending": faults.describe()}, no_store)
    elif method == "POST":
        raw = h.read_body(MAX_BODY_BYTES)
        try:
            payload = json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ApiError(400, f"body: not valid JSON ({exc})") from None
        if isinstance(payload, list):
            if not payload:
                raise ApiError(400, "body: empty array; expected fault objects")
            parsed = [parse_fault(spec, f"[{i}].") for i, spec in enumerate(payload)]
        else:
            parsed = [parse_fault(payload)]
        faults.add(parsed)
        h.send_json(200, {"pending": faults.describe()}, no_store)
    elif method == "DELETE":
        h.send_json(200, {"cleared": faults.clear()}, no_store)
    elif method == "OPTIONS":
        h.preflight(allowed)
    else:
        raise h.method_not_allowed(method, allowed)


def inject(h: DevHandler, action: FaultAction) -> None:
    """Fail this collector request as told; nothing of it is stored."""
    # Read the whole request first, as a real server would before failing.
    h.discard_body()
    h.body_read = True
    if not h.server.quiet:
        detail = action.status if action.kind == "status" else action.kind
        h.log_message('"%s" injected fault: %s', h.requestline, detail)
    if action.kind == "status":
        assert action.status is not None
        headers = {}
        if action.retry_after is not None:
            headers["Retry-After"] = str(action.retry_after)
        message = f"injected fault: {action.status} {_reason(action.status)}"
        h.send_json(action.status, error_body(action.status, message), headers)
        return
    if action.kind == "stall":
        # Hold the connection without answering (other requests go on in their own
        # threads); then, or as soon as the server stops, close it unanswered.
        h.server.stopping.wait(action.seconds)
    # "drop" (and a stall that ran out): close the socket without any answer.
    h.responded = True
    h.close_connection = True
