"""ETag / If-Match: no lost update.

The ETag of an object is its ``version`` (``"v7"``). A write that carries
``If-Match`` is checked against the row while it is locked, so two clients
updating from the same version cannot both succeed: the second gets 412.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework.request import Request

from vcftrack.api.errors import invalid, precondition_failed

# One or more entity tags (weak ones too), or *: the schema's pattern.
IF_MATCH = re.compile(r'\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*')


def etag_for(obj: Any) -> str:
    return f'"v{obj.version}"'


def check_if_match(request: Request, obj: Any) -> None:
    header = request.headers.get("If-Match")
    if header is None:
        return
    current = etag_for(obj)
    if not IF_MATCH.fullmatch(header.strip()):
        raise invalid(
            {"If-Match": ['Send the ETag you last saw (e.g. "v3") or *, or leave it out.']}
        )
    for tag in (t.strip() for t in header.split(",")):
        # Weak comparison: W/"v7" is accepted for "v7" (some proxies weaken tags).
        if tag == "*" or tag == current or tag == f"W/{current}":
            return
    raise precondition_failed(current)
