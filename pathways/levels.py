"""Vertebral levels T1-L5 stored as a bitmask, so an invalid level cannot be stored."""

from __future__ import annotations

from collections.abc import Iterable

LEVELS: tuple[str, ...] = tuple([f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)])
LEVEL_BIT = {name: 1 << i for i, name in enumerate(LEVELS)}
ALL_LEVELS_MASK = (1 << len(LEVELS)) - 1


class InvalidLevel(ValueError):
    pass


def levels_to_mask(levels: Iterable[str]) -> int:
    mask = 0
    for level in levels:
        if not isinstance(level, str):
            raise InvalidLevel(f"{level!r} is not a vertebral level (T1-L5)")
        key = level.strip().upper()
        if key not in LEVEL_BIT:
            raise InvalidLevel(f"{level!r} is not a vertebral level (T1-L5)")
        mask |= LEVEL_BIT[key]
    return mask


def mask_to_levels(mask: int) -> list[str]:
    return [name for name in LEVELS if mask & LEVEL_BIT[name]]
