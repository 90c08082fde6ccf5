"""The one exception type of the domain validators.

A `ValidationError` names the field and the rule that failed, never the offending value:
the values checked here are ID numbers, credit codes and names, and exception messages end
up in logs, CLI output and peers' error replies (CONTRIBUTING.md, PIPL art. 28). Only values that
are public by nature (case numbers, court codes) may be echoed, and only by the caller that
knows the value is of that kind.
"""

from __future__ import annotations

__all__ = ["ValidationError"]


class ValidationError(ValueError):
    """Bad input: `field` names where, `rule` is a short machine code for what.

    `str(err)` is ``"<field>: <explanation>"``, prefixed with ``"line <n>: "`` when the
    input came from a numbered line of an import file.
    """

    field: str
    rule: str
    explanation: str
    line_no: int | None

    def __init__(
        self, field: str, rule: str, explanation: str, *, line_no: int | None = None
    ) -> None:
        assert field and rule and explanation, "field, rule and explanation are all required"
        self.field = field
        self.rule = rule
        self.explanation = explanation
        self.line_no = line_no
        prefix = f"line {line_no}: " if line_no is not None else ""
        super().__init__(f"{prefix}{field}: {explanation}")

    def at_line(self, line_no: int | None) -> ValidationError:
        """The same error, attributed to a line of an import file (no-op for None)."""
        if line_no is None:
            return self
        return ValidationError(self.field, self.rule, self.explanation, line_no=line_no)

    def __reduce__(self) -> tuple[object, ...]:
        # ValueError pickles as cls(*args); our constructor takes the parts, not the message.
        return (_rebuild, (self.field, self.rule, self.explanation, self.line_no))

    def __repr__(self) -> str:
        return f"ValidationError(field={self.field!r}, rule={self.rule!r}, {self.args[0]!r})"


def _rebuild(field: str, rule: str, explanation: str, line_no: int | None) -> ValidationError:
    return ValidationError(field, rule, explanation, line_no=line_no)
