"""Time as Segment's payloads write it, without ``datetime``.

MicroPython has no ``datetime``, so ISO 8601 and cookie ``expires`` dates are computed from
epoch milliseconds with plain integer arithmetic (Howard Hinnant's days-to-civil algorithm).

    >>> iso_utc(0)
    '1970-01-01T00:00:00.000Z'
"""

from .compat import time

_DAYS = ("Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed")  # 1970-01-01 was a Thursday
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_MS = 86400000


def now_ms() -> int:
    """Milliseconds since the epoch (the browser's ``Date.now()`` under Pyodide)."""
    return int(time.time() * 1000)


def _civil(days: int) -> tuple:
    """(year, month, day) of a count of days since 1970-01-01, proleptic Gregorian."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def _time_of_day(rest: int) -> tuple:
    """(hours, minutes, seconds, milliseconds) of milliseconds since midnight."""
    secs, milli = divmod(rest, 1000)
    hh, secs = divmod(secs, 3600)
    mm, ss = divmod(secs, 60)
    return hh, mm, ss, milli


def _split(ms: int) -> tuple:
    days, rest = divmod(int(ms), _DAY_MS)
    return (days,) + _civil(days) + _time_of_day(rest)


_date = [None, ""]  # the last day iso_utc wrote: [days since the epoch, "YYYY-MM-DDT"]


def iso_utc(ms: int) -> str:
    """``2026-11-29T14:16:53.123Z`` for epoch milliseconds, as JS ``toISOString()`` writes.

    The date part is kept for the day: epoch milliseconds are big integers to MicroPython
    (over 30 bits), so each step of the calendar arithmetic would allocate; the time of day
    fits in a small one."""
    days, rest = divmod(int(ms), _DAY_MS)
    if days != _date[0]:
        y, mo, d = _civil(days)
        _date[0], _date[1] = days, "%04d-%02d-%02dT" % (y, mo, d)
    return "%s%02d:%02d:%02d.%03dZ" % ((_date[1],) + _time_of_day(rest))


def http_date(ms: int) -> str:
    """``Sun, 29 Nov 2026 14:16:53 GMT``: the cookie ``expires`` form (JS ``toUTCString()``)."""
    days, y, mo, d, hh, mm, ss, _ = _split(ms)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[days % 7], d, _MONTHS[mo - 1], y, hh, mm, ss)


def parse_iso_ms(text: str) -> int | None:
    """Epoch ms of ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (the form ``iso_utc`` writes), else None."""
    try:
        if len(text) < 20 or text[4] != "-" or text[10] not in "Tt" or text[-1] not in "Zz":
            return None
        y, mo, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
        hh, mm, ss = int(text[11:13]), int(text[14:16]), int(text[17:19])
        frac = text[20:-1] if text[19] == "." else ""
        milli = int((frac + "000")[:3]) if frac else 0
    except (ValueError, IndexError):
        return None
    # days from civil (inverse of _civil)
    yy = y - (1 if mo <= 2 else 0)
    era = (yy if yy >= 0 else yy - 399) // 400
    yoe = yy - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return ((days * 24 + hh) * 60 + mm) * 60000 + ss * 1000 + milli
