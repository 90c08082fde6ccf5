"""The syntax of the federation's identifiers: node ids, log indexes and entry subjects.

Every rule is written once, as a source string, and every compiled pattern is built from those
strings; a second hand-written copy could drift (accept ``Chengdu`` in one check and refuse it
in another), and then nodes would disagree about which entries are valid. The strings are
public so that error messages and composite patterns can quote the rule itself.

* A node id (also an auditor's or admin's certificate name): 1-63 lowercase ASCII letters,
  digits or ``-``, not starting with ``-``.
* A log index (or tree size) in canonical decimal: ``0`` or no leading zero, at most 19 digits
  (callers still compare the value with 2^63 - 1, the largest the stores' signed 64-bit
  columns hold).
* A subject ``<origin>/<word>/<index>``: the thing (task, lookup, listing) created by entry
  ``index`` of ``origin``'s log. Only the origin writes under its own prefix, so a subject's
  origin is its single writer.

Pure: no I/O, only ``re``.
"""

from __future__ import annotations

import re
from typing import Final

NODE_ID: Final = "[a-z0-9][a-z0-9-]{0,62}"
INDEX: Final = "0|[1-9][0-9]{0,18}"
# One label of a DNS name (RFC 1123, lowercase): no '-' at either end, at most 63 characters.
DNS_LABEL: Final = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"

# re.ASCII: the classes above spell out their ranges, so the flag changes nothing today; it
# keeps a later \d or \w from admitting non-ASCII digits and letters.
NODE_ID_RE: Final = re.compile(NODE_ID, re.ASCII)
INDEX_RE: Final = re.compile(INDEX, re.ASCII)
DNS_LABEL_RE: Final = re.compile(DNS_LABEL, re.ASCII)

_WORD_RE: Final = re.compile("[a-z]+", re.ASCII)


class Subjects:
    """The subjects ``<origin>/<word>/<index>`` of one business (``word`` is e.g. ``task``)."""

    __slots__ = ("_re", "word")

    def __init__(self, word: str) -> None:
        assert _WORD_RE.fullmatch(word), word
        self.word = word
        self._re = re.compile(f"({NODE_ID})/{word}/({INDEX})", re.ASCII)

    def prefix(self, origin: str) -> str:
        """``<origin>/<word>/``: every subject ``origin`` may write starts with it."""
        return f"{origin}/{self.word}/"

    def of(self, origin: str, index: int) -> str:
        """The subject of the thing that entry ``index`` of ``origin``'s log creates."""
        return f"{origin}/{self.word}/{index}"

    def parse(self, subject: str) -> tuple[str, int] | None:
        """``(origin, index)`` of a subject in canonical spelling, or None."""
        match = self._re.fullmatch(subject)
        if match is None:
            return None
        return match[1], int(match[2])


TASK_SUBJECTS: Final = Subjects("task")
LOOKUP_SUBJECTS: Final = Subjects("lookup")
LISTING_SUBJECTS: Final = Subjects("bl")
