"""The public page's HTML: the query form, an answer, a refusal, the rate-limit page.

Plain server-rendered HTML (no script; it works with any browser and screen reader), Chinese
first with English beside it, every value escaped, one same-origin style sheet and nothing
else loaded (the Content-Security-Policy of node/public/page.py forbids anything more).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

STYLE: Final = """\
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:0 auto;
max-width:60rem;padding:1rem;line-height:1.5;color:#1a1a1a;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
.en{color:#444;font-size:.9em}
form{display:grid;gap:.75rem;max-width:32rem}
label{font-weight:600}
input{font:inherit;padding:.4rem;border:1px solid #555;border-radius:3px}
input:focus,button:focus{outline:3px solid #1a5fb4;outline-offset:1px}
button{font:inherit;padding:.5rem 1rem;background:#1a5fb4;color:#fff;border:0;border-radius:3px}
.alert{border-left:4px solid #c01c28;padding:.5rem 1rem;background:#fdecea}
.listed{border-left:4px solid #c01c28;padding:.5rem 1rem;background:#fdecea}
.clear{border-left:4px solid #26a269;padding:.5rem 1rem;background:#e8f5e9}
.repaired{font-weight:600;color:#26a269}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0;width:14rem}
"""

_TITLE: Final = "失信被执行人公示查询 Public disclosure of dishonest debtors"


def _page(body: str, *, title: str = _TITLE) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        '<link rel="stylesheet" href="/style.css">\n</head>\n<body>\n<main>\n'
        f'<h1>失信被执行人公示查询 <span lang="en" class="en">Public disclosure of dishonest '
        f"debtors</span></h1>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _form(name: str = "", id_number: str = "", error_field: str = "") -> str:
    def invalid(field: str) -> str:
        if field != error_field:
            return ""
        return ' aria-invalid="true" aria-describedby="query-error"'

    return f"""<form method="post" action="/check" autocomplete="off">
<p>请同时输入完整的姓名（名称）和证件号码，两项均为必填。<span lang="en" class="en">Enter both the
full name and the ID number or credit code; both are required.</span></p>
<label for="name">被执行人姓名/名称 <span lang="en" class="en">Name</span></label>
<input id="name" name="name" type="text" required maxlength="200" value="{escape(name)}"\
{invalid("name")}>
<label for="id">身份证号码/统一社会信用代码 <span lang="en" class="en">Resident ID number or
unified social credit code</span></label>
<input id="id" name="id" type="text" required maxlength="18" spellcheck="false" \
value="{escape(id_number)}"{invalid("id")}>
<button type="submit">查询 <span lang="en">Search</span></button>
</form>"""


def form_page() -> str:
    return _page(
        _form()
        + "\n<p>本页据各地区法院节点公布的失信被执行人名单作答，显示的证件号码均已部分隐去。"
        '<span lang="en" class="en">Answered from every region\'s published list; ID numbers '
        "are shown partly hidden.</span></p>"
    )


def refusal_page(field: str, zh: str, en: str, name: str, id_number: str) -> str:
    """A query refused (a field missing or malformed): the message names the field, and the
    form keeps what was typed so that it can be completed."""
    alert = (
        f'<div class="alert" role="alert" id="query-error" data-field="{escape(field)}">'
        f'<p>{escape(zh)}<br><span lang="en" class="en">{escape(en)}</span></p></div>'
    )
    return _page(alert + "\n" + _form(name, id_number, error_field=field))


def rate_limited_page(retry_after_s: int) -> str:
    return _page(
        '<div class="alert" role="alert" id="rate-limited">'
        f'<p>查询过于频繁，请{retry_after_s}秒后再试。<br><span lang="en" class="en">Too many '
        f"queries from your address: try again in {retry_after_s} seconds.</span></p></div>",
        title="查询过于频繁 Too many queries",
    )


def answer_page(doc: Mapping[str, Any]) -> str:
    q = doc["query"]
    asked = f"{escape(q['name'])}（{escape(q['id'])}）"
    listings: Sequence[Mapping[str, Any]] = doc["listings"]
    current = [item for item in listings if item["status"] == "listed"]
    as_debtor = [item for item in current if "representative" not in item]
    if doc["listed"] and as_debtor:
        head = (
            f'<div class="listed" role="status" id="answer" data-listed="true"><p><strong>'
            f"{asked} 在失信被执行人名单中（{len(current)}条）。</strong><br>"
            f'<span lang="en" class="en">{asked} is on the list of dishonest debtors '
            f"({len(current)} listing{'s' if len(current) != 1 else ''}).</span></p></div>"
        )
    elif doc["listed"]:
        head = (
            f'<div class="listed" role="status" id="answer" data-listed="true"><p><strong>'
            f"{asked} 是被纳入失信被执行人名单单位的法定代表人、主要负责人、"
            f"直接责任人员或实际控制人，被限制消费（{len(current)}条）。</strong><br>"
            f'<span lang="en" class="en">{asked} is restricted in consumption as a '
            "representative of a listed organisation "
            f"({len(current)} listing{'s' if len(current) != 1 else ''}).</span></p></div>"
        )
    else:
        head = (
            f'<div class="clear" role="status" id="answer" data-listed="false"><p><strong>'
            f"未查询到{asked}的失信被执行人信息。</strong><br>"
            f'<span lang="en" class="en">No current listing for {asked} in any region.</span>'
            "</p></div>"
        )
    body = [head]
    for item in current:
        body.append(_listing(item))
    ended = [item for item in listings if item["status"] != "listed"]
    if ended:
        body.append('<h2>已结束的纳入 <span lang="en" class="en">Ended listings</span></h2>')
        body += [_listing(item) for item in ended]
    if doc.get("truncated"):
        body.append("<p>结果过多，仅显示部分。<span lang=\"en\" class=\"en\">More listings exist "
                    "than are shown.</span></p>")  # fmt: skip
    body.append(_regions(doc["regions"], doc["as_of"]))
    body.append('<h2>再次查询 <span lang="en" class="en">Another search</span></h2>')
    body.append(_form())
    return _page("\n".join(body), title=f"查询结果 Result — {_TITLE}")


def _row(zh: str, en: str, value: object) -> str:
    if value in ("", None):
        return ""
    return (
        f'<tr><th scope="row">{escape(zh)} <span lang="en" class="en">{escape(en)}</span></th>'
        f"<td>{escape(str(value))}</td></tr>"
    )


def _listing(item: Mapping[str, Any]) -> str:
    d = item["debtor"]
    rows = [
        _row("原因", "Why", f"{item['reason_zh']} / {item['reason']}"),
        _row("地区", "Region", item["region"]),
    ]
    rep = item.get("representative")
    if rep:
        rows += [
            _row("限制消费人员", "Person restricted", f"{rep['name']}（{rep['role_zh']} "
                 f"{rep['role_en']}）"),
            _row("其证件号码", "Their ID number", rep["id"]),
        ]  # fmt: skip
    if d["type"] == "org":
        rows += [
            _row("被执行人名称", "Organisation", d["name"]),
            _row("统一社会信用代码", "Credit code", d["credit_code"]),
            _row("法定代表人或负责人", "Legal representative", d["legal_representative"]),
        ]
    else:
        rows += [
            _row("被执行人姓名", "Name", d["name"]),
            _row("性别", "Sex", d["sex"]),
            _row("年龄", "Age", d["age"]),
            _row("身份证号码", "ID number", d["id"]),
        ]
    ground = item["ground"]
    rows += [
        _row("生效法律文书确定的义务", "Obligation", item["obligation"]),
        _row("被执行人的履行情况", "Performance", item["performance"]),
        _row("失信被执行人行为具体情形", "Dishonest conduct",
             " ".join(x for x in (ground["zh"], item["conduct"]) if x)),
        _row("执行依据制作单位", "Issuer of the enforcement basis", item["basis_issuer"]),
        _row("执行依据文号", "Enforcement basis number", item["basis_number"]),
        _row("案号", "Case number", item["case_number"]),
        _row("立案时间", "Filed on", item["filed_on"]),
        _row("执行法院", "Enforcing court", item["court"]),
        _row("发布时间", "Listed on", item["listed_on"]),
    ]  # fmt: skip
    ended = item.get("ended")
    if ended:
        rows.append(_row("删除时间", "Ended on", ended["on"]))
        rows.append(_row("删除事由", "Ground", ended["ground_zh"]))
        if ended["credit_repaired"]:
            rows.append(
                '<tr><th scope="row">信用修复 <span lang="en" class="en">Credit repair</span>'
                f'</th><td class="repaired" data-credit-repair="{escape(ended["credit_repair"])}">'
                f'已信用修复（{escape(ended["credit_repair_zh"])}） <span lang="en">credit '
                "repaired</span></td></tr>"
            )
    status = "listed" if item["status"] == "listed" else "ended"
    return f'<table class="listing" data-status="{status}">{"".join(rows)}</table>'


def _regions(regions: Sequence[Mapping[str, Any]], as_of: str) -> str:
    rows = "".join(
        f"<tr><td>{escape(r['region'])}</td><td>{r['listed']}</td>"
        f"<td>{escape(r['updated_at'] or '—')}</td></tr>"
        for r in regions
    )
    return (
        '<h2>各地区名单 <span lang="en" class="en">Lists by region</span></h2>'
        '<table id="regions"><thead><tr><th scope="col">地区 <span lang="en" class="en">Region'
        '</span></th><th scope="col">在列人数 <span lang="en" class="en">Listed</span></th>'
        '<th scope="col">最近更新 <span lang="en" class="en">Last update</span></th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
        f'<p class="en">查询时间 As of {escape(as_of)}</p>'
    )
