"""The authorization matrix: every route x method x kind of caller.

Routes come from two sources, so a new one is covered without anyone
listing it: the URLconf (web pages, the admin) and the OpenAPI schema (every
API operation). Each is called as seven callers against clinic A's objects,
and the answer is reduced to one word:

- ``ok``     allowed and done (2xx, or a redirect that is not to sign-in)
- ``bad``    allowed, but the (empty) input was refused (400, 422)
- ``clash``  allowed, but the state refused it (409, 412)
- ``login``  not signed in: 401, or a redirect to a sign-in page
- ``deny``   signed in, not allowed (403)
- ``hidden`` not found for this caller (404): another clinic's object looks
  like no object at all
- ``405``    the method is not supported there

The expected words live in ``tests/security/authz_matrix.txt``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

ROLES = ("anon", "viewer", "coord", "phys", "api", "other", "none")
ROLE_HELP = {
    "anon": "not signed in",
    "viewer": "viewer of clinic A (session)",
    "coord": "coordinator of clinic A (session)",
    "phys": "physician of clinic A (session)",
    "api": "API client: a coordinator of clinic A's token",
    "other": "coordinator of clinic B (session)",
    "none": "signed in, member of no clinic (session)",
}
WEB_METHODS = ("GET", "POST")
TABLE = Path(__file__).with_name("authz_matrix.txt")
ADMIN = "/admin/**"
ADMIN_OPEN = ("/admin/login/", "/admin/logout/")


@dataclass(frozen=True)
class Route:
    key: str  # as written in the table
    method: str
    path: str  # with ids filled in


def outcome(response: Any) -> str:
    status = response.status_code
    if status in (301, 302, 303):
        location = response.get("Location", "")
        return "login" if "/login/" in location else "ok"
    if 200 <= status < 300:
        return "ok"
    return {
        400: "bad",
        422: "bad",
        409: "clash",
        412: "clash",
        401: "login",
        403: "deny",
        404: "hidden",
        405: "405",
    }.get(status, str(status))


# ------------------------------------------------------------- sources --
def _walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, URLPattern]]:
    out: list[tuple[str, URLPattern]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            out += _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            out.append((prefix + str(pattern.pattern), pattern))
    return out


def web_routes() -> list[str]:
    """The URLconf's routes outside the API (whose operations come from the schema)."""
    return sorted(
        "/" + route
        for route, _ in _walk(get_resolver().url_patterns)
        if not route.startswith("api/v1/") and not route.startswith("admin/")
    )


def admin_routes() -> list[str]:
    return sorted(
        "/" + route for route, _ in _walk(get_resolver().url_patterns) if route.startswith("admin/")
    )


def api_operations() -> list[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (path, method.upper())
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


def all_keys() -> list[tuple[str, str]]:
    keys = [(path, method) for path, method in api_operations()]
    # The API's own routes outside /api/v1/ (schema, docs, the catch-all).
    keys += [
        (route, method)
        for route in web_routes()
        for method in WEB_METHODS
        if route.startswith("/api/")
    ]
    keys += [
        (route, method)
        for route in web_routes()
        for method in WEB_METHODS
        if not route.startswith("/api/")
    ]
    keys.append((ADMIN, "GET"))
    return keys


# ------------------------------------------------------------ the table --
def read_table() -> dict[tuple[str, str], dict[str, str]]:
    table: dict[tuple[str, str], dict[str, str]] = {}
    for line in TABLE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if fields[0] == "route":
            continue
        route, method, words = fields[0], fields[1], fields[2:]
        if len(words) != len(ROLES):
            raise ValueError(f"{TABLE.name}: {line!r} needs one word per caller {ROLES}")
        table[(route, method)] = dict(zip(ROLES, words, strict=True))
    return table


def format_row(route: str, method: str, words: dict[str, str]) -> str:
    return f"{route:<66} {method:<7}" + "".join(f"{words[r]:<7}" for r in ROLES).rstrip()


# -------------------------------------------------------------- filling --
_PARAM = re.compile(r"<(?:[^>:]+:)?([^>]+)>|\{([^}]+)\}|\(\?P<([^>]+)>[^)]*\)")


def fill(route: str, values: dict[str, str], collection_ids: dict[str, str]) -> str:
    """The route with each parameter replaced by clinic A's object."""
    if route == "/api/(?P<rest>.*)$" or route.startswith("/api/^"):
        return "/api/v1/no-such-thing/"

    def value(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name in ("id", "pk"):
            collection = route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
            return collection_ids[collection]
        return values[name]

    return _PARAM.sub(value, route).replace("^", "").replace("$", "")
