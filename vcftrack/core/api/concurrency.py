"""ETag / If-Match: no lost update.

The ETag of an object is its ``version`` (``"v7"``). A write that carries
``If-Match`` is checked against the row while it is locked, so two clients
updating from the same version cannot both succeed: the second gets 412.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework.request import Request

from vcftrack.core.api.errors import ApiError, invalid, precondition_failed

# One or more entity tags (weak ones too), or *: the schema's pattern.
IF_MATCH = re.compile(r'\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*')


def etag_for(obj: Any) -> str:
    return f'"v{obj.version}"'


def check_if_match(request: Request, obj: Any) -> ApiError | None:
    """The 412 to answer if ``If-Match`` names another version, else None; a
    malformed header is refused at once (400). The caller decides when to
    raise the 412: after checking the body, so that a request with both a bad
    body and a stale ETag is told about the body (its 400) first."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    current = etag_for(obj)
    if not IF_MATCH.fullmatch(header.strip()):
        raise invalid(
            {"If-Match": ['Send the ETag you last saw (e.g. "v3") or *, or leave it out.']}
        )
    for tag in (t.strip() for t in header.split(",")):
        # Weak comparison: W/"v7" is accepted for "v7" (some proxies weaken tags).
        if tag == "*" or tag == current or tag == f"W/{current}":
            return None
    return precondition_failed(current)
