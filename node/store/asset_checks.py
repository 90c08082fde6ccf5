"""Input checks of the lookup business's storage (asset registry, peers' court prefixes) that
every store makes before writing anything, so memory, SQLite and PostgreSQL refuse exactly the
same input. Messages name the position and the field, never the value (owner ids are personal
data)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from node.store.base import AssetRow, IntegrityError

INT32_LIMIT = 2**31
ASSET_ID_CHARS_MAX = 200


def check_assets(assets: Sequence[AssetRow]) -> None:
    """Each row well-typed, ids one-line text without NUL, asset ids distinct."""
    seen: set[str] = set()
    for position, row in enumerate(assets):
        for field in ("asset_id", "owner_id"):
            value = getattr(row, field)
            if not isinstance(value, str) or not value or "\x00" in value:
                raise IntegrityError(f"assets[{position}].{field} must be non-empty text")
        if len(row.asset_id) > ASSET_ID_CHARS_MAX:
            raise IntegrityError(f"assets[{position}].asset_id must be <= 200 characters")
        if not isinstance(row.category, int) or isinstance(row.category, bool):
            raise IntegrityError(f"assets[{position}].category must be an int")
        if not 0 <= row.category < INT32_LIMIT:
            raise IntegrityError(f"assets[{position}].category must be in [0, 2**31)")
        if not isinstance(row.record, bytes):
            raise IntegrityError(f"assets[{position}].record must be bytes")
        if row.asset_id in seen:
            raise IntegrityError(f"assets[{position}].asset_id repeats an earlier row")
        seen.add(row.asset_id)


def check_court_prefixes(prefixes: Sequence[str]) -> None:
    """Stored comma-separated: a prefix may not contain a comma (nor NUL, nor be empty)."""
    for position, prefix in enumerate(prefixes):
        if not isinstance(prefix, str) or not prefix or "," in prefix or "\x00" in prefix:
            raise IntegrityError(
                f"court_prefixes[{position}] must be non-empty text without commas or NUL"
            )


def check_categories(categories: Iterable[int]) -> frozenset[int]:
    out = frozenset(categories)
    if any(not isinstance(c, int) or isinstance(c, bool) for c in out):
        raise ValueError("categories must be ints")
    return out
