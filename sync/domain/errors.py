"""The one exception type of the domain validators.

A `ValidationError` names the field and the rule that failed, never the offending value:
the values checked here are ID numbers, credit codes and names, and exception messages end
up in logs, CLI output and peers' error replies (CONTRIBUTING.md, PIPL art. 28). Only values that
are public by nature (case numbers, court codes) may be echoed, and only by the caller that
knows the value is of that kind.
"""

from __future__ import annotations

from sync.domain.wording import field_label, joined

__all__ = ["ValidationError", "line_prefix"]


def line_prefix(line_no: int | None) -> str:
    """Where in an import file a refusal is: ``第4行（line 4）：``; "" for no line."""
    return f"第{line_no}行（line {line_no}）：" if line_no is not None else ""


class ValidationError(ValueError):
    """Bad input: `field` names where, `rule` is a short machine code for what.

    ``explanation`` says the rule in English, ``zh`` in Chinese, in the courts' terms and with
    its source (sync/domain/wording.py). `str(err)` is one sentence, Chinese first:
    ``"<field label>：<zh> / <field>: <explanation>"``, prefixed with ``"第<n>行（line <n>）："``
    when the input came from a numbered line of an import file.
    """

    field: str
    rule: str
    explanation: str
    zh: str
    line_no: int | None

    def __init__(
        self,
        field: str,
        rule: str,
        explanation: str,
        *,
        zh: str,
        line_no: int | None = None,
    ) -> None:
        assert field and rule and explanation and zh, "field, rule and both wordings required"
        self.field = field
        self.rule = rule
        self.explanation = explanation
        self.zh = zh
        self.line_no = line_no
        super().__init__(line_prefix(line_no) + joined(field, zh, explanation))

    @property
    def zh_text(self) -> str:
        """The Chinese sentence alone, with the field's name: ``执行法院（--court）：…``."""
        return f"{field_label(self.field)}：{self.zh}"

    def at_line(self, line_no: int | None) -> ValidationError:
        """The same error, attributed to a line of an import file (no-op for None)."""
        if line_no is None:
            return self
        return ValidationError(self.field, self.rule, self.explanation, zh=self.zh, line_no=line_no)

    def renamed(self, field: str) -> ValidationError:
        """The same refusal about another field (a shared check run for a named position)."""
        return ValidationError(field, self.rule, self.explanation, zh=self.zh, line_no=self.line_no)

    def __reduce__(self) -> tuple[object, ...]:
        # ValueError pickles as cls(*args); our constructor takes the parts, not the message.
        return (_rebuild, (self.field, self.rule, self.explanation, self.zh, self.line_no))

    def __repr__(self) -> str:
        return f"ValidationError(field={self.field!r}, rule={self.rule!r}, {self.args[0]!r})"


def _rebuild(
    field: str, rule: str, explanation: str, zh: str, line_no: int | None
) -> ValidationError:
    return ValidationError(field, rule, explanation, zh=zh, line_no=line_no)
