"""CCNODE_LOG takes a level name in any case; anything else is refused naming the variable."""

from __future__ import annotations

import logging

import pytest

from node.runtime.serve import log_level


@pytest.mark.parametrize(
    ("text", "level"),
    [("", logging.INFO), ("debug", logging.DEBUG), ("DEBUG", logging.DEBUG), (" Warning ", 30)],
)
def test_level_names_in_any_case(text: str, level: int) -> None:
    assert log_level(text) == level


@pytest.mark.parametrize("text", ["verbose", "10", "Level 5"])
def test_other_values_are_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(ValueError, match="CCNODE_LOG"):
        log_level(text)
