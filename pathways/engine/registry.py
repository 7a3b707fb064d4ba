"""Every rule set the engine knows, by version. An episode keeps the version
it started with until someone migrates it on purpose."""

from __future__ import annotations

from pathways.engine.ruleset import RuleSet
from pathways.engine.v1 import V1
from pathways.engine.v2 import V2

RULESETS: dict[str, RuleSet] = {rs.version: rs for rs in (V1, V2)}
# What a new episode gets.
CURRENT_VERSION = V2.version


def get_ruleset(version: str) -> RuleSet:
    try:
        return RULESETS[version]
    except KeyError:
        raise KeyError(f"unknown pathway version {version!r}") from None
