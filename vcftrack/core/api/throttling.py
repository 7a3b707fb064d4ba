"""API throttling per token, per user and (signed out) per address.

A fixed window per rate: the counter ``<scope>:<who>:<window>`` is created
with the window's lifetime and incremented atomically (``INCR`` on Redis),
so every web process shares one count when ``REDIS_URL`` is set. A request
over any of its limits gets 429 with ``Retry-After`` (the window's end).

A token's request counts against the token and against its user (who may
hold several tokens and a session too). If the cache cannot be reached
(Redis down) requests go through: throttling protects the service, it must
not be the thing that stops it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from vcftrack.core.api.models import ApiToken

log = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: int


def parse_rate(text: str) -> Rate:
    """``"1200/min"`` -> Rate(1200, 60); a malformed rate is a configuration error."""
    count, _, period = text.partition("/")
    try:
        requests = int(count)
        seconds = PERIODS[period.strip()[:1].lower()]
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"A rate looks like '600/min' (s, min, hour, day), not {text!r}") from exc
    if requests < 1:
        raise ValueError(f"A rate allows at least 1 request, not {text!r}")
    return Rate(requests, seconds)


class ClientRateThrottle(BaseThrottle):
    def limits(self, request: Request) -> list[tuple[str, str, Rate]]:
        """(scope, who, rate) of each limit this request counts against."""
        out: list[tuple[str, str, Rate]] = []
        if isinstance(request.auth, ApiToken):
            out.append(("token", str(request.auth.pk), parse_rate(settings.API_RATE_PER_TOKEN)))
        if request.user and request.user.is_authenticated:
            out.append(("user", str(request.user.pk), parse_rate(settings.API_RATE_PER_USER)))
        else:
            address = self.get_ident(request)
            out.append(("anon", address, parse_rate(settings.API_RATE_ANONYMOUS)))
        return out

    def allow_request(self, request: Request, view: Any) -> bool:
        now = time.time()
        self.wait_seconds: float | None = None
        cache = caches["throttle"]
        prefix = settings.API_THROTTLE_KEY_PREFIX
        for scope, who, rate in self.limits(request):
            window = int(now // rate.seconds)
            key = f"{prefix}:{scope}:{who}:{rate.seconds}:{window}"
            try:
                cache.add(key, 0, timeout=rate.seconds + 1)
                count = cache.incr(key)
            except Exception as exc:
                log.warning("throttle cache unavailable (%s); request let through", exc)
                return True
            if count > rate.requests:
                self.wait_seconds = (window + 1) * rate.seconds - now
                return False
        return True

    def wait(self) -> float | None:
        return math.ceil(self.wait_seconds) if self.wait_seconds is not None else None
