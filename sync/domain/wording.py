"""How a refusal reads to the courts: Chinese first, in the officer's own terms, English after.

A refusal names the field as the officer knows it (the name the CLI help gives it and the option
that sets it), says the rule and where it comes from (the statute, judicial interpretation or
national standard), and shows any value as the officer typed it: amounts in 元 (never fen),
categories as 存款 (never ``DEPOSIT``), credit-repair kinds as ``creditor`` (never
``CREDITOR_REQUEST``). The English sentence after it is for scripts, logs and other readers.

One wording for every path: the node builds it (``ValidationError``, node/services/errors.py),
sends it in the structured error details (``LocalizedMessage`` zh-CN, beside the English
``FieldViolation``), and the CLI prints exactly that sentence; the CLI's own checks of its input
word theirs here too.

The refused value itself is never part of a refusal unless it is public by nature (a case number,
a court code, a date, an amount): IDs, names and accounts never are (PIPL art. 28).

Sources cited (short forms used in the sentences):

* 失信规定: 《最高人民法院关于公布失信被执行人名单信息的若干规定》（法释〔2017〕7号）
* 委托执行规定: 《最高人民法院关于委托执行若干问题的规定》（法释〔2011〕11号, 2020 修正）
* 查封规定: 《最高人民法院关于人民法院民事执行中查封、扣押、冻结财产的规定》
  （法释〔2004〕15号, 2020 修正）
* 网络查控规定: 《最高人民法院关于网络查询、冻结被执行人存款的规定》（法释〔2013〕20号）
* 案号规定: 《最高人民法院关于人民法院案件案号的若干规定》（法〔2015〕137号）
* GB 11643 (公民身份号码), GB 32100 (统一社会信用代码), GB 11714 (组织机构代码)
* 个人信息保护法 (PIPL)
* 民诉法解释: 《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》（法释〔2022〕11号）
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "FIELDS",
    "FieldName",
    "field_label",
    "joined",
    "yuan",
]

# Short names of the sources, as the sentences cite them.
SHIXIN: Final = "《失信规定》"  # 法释〔2017〕7号
WEITUO: Final = "《委托执行规定》"  # 法释〔2011〕11号
CHAFENG: Final = "《查封规定》"  # 法释〔2004〕15号
CHAKONG: Final = "《网络查控规定》"  # 法释〔2013〕20号
ANHAO: Final = "《案号规定》"  # 法〔2015〕137号
PIPL: Final = "《个人信息保护法》"
MINSU_JIESHI: Final = "《民诉法解释》"  # 法释〔2022〕11号


@dataclass(frozen=True, slots=True)
class FieldName:
    """A field as the officer knows it: its Chinese name (as the CLI help gives it) and the CLI
    option that sets it, when one does."""

    zh: str
    option: str | None = None

    def label(self) -> str:
        return f"{self.zh}（{self.option}）" if self.option else self.zh


# Fields by their path in the request or import record; a list position is written ``[]``
# (``representatives[2].id_number`` is ``representatives[].id_number``). A path not here is
# named by its last part (``debtor.name`` by ``name``) when that part is here.
FIELDS: Final[Mapping[str, FieldName]] = {
    # ---- listings (blacklist add / import / delist / correct)
    "case_number": FieldName("案号", "--case-number"),
    "court": FieldName("执行法院", "--court"),
    "debtor_type": FieldName("被执行人类型", "--debtor-type"),
    "name": FieldName("被执行人姓名/名称", "--name"),
    "id_number": FieldName("身份证号", "--id-number"),
    "credit_code": FieldName("统一社会信用代码", "--credit-code"),
    "org_code": FieldName("组织机构代码", "--org-code"),
    "sex": FieldName("性别", "--sex"),
    "legal_representative": FieldName("法定代表人", "--legal-representative"),
    "representatives": FieldName("代表人", "--representative"),
    "representatives[]": FieldName("代表人", "--representative"),
    "representatives[].role": FieldName("代表人身份", "--representative"),
    "representatives[].name": FieldName("代表人姓名", "--representative"),
    "representatives[].id_number": FieldName("代表人身份证号", "--representative"),
    "obligation": FieldName("生效法律文书确定的义务", "--obligation"),
    "performance": FieldName("履行情况", "--performance"),
    "ground": FieldName("失信情形", "--ground"),
    "term_years": FieldName("惩戒期限（年）", "--term-years"),
    "term_extension": FieldName("期限延长事由", "--term-extension"),
    "conduct": FieldName("具体情形", "--conduct"),
    "basis_issuer": FieldName("执行依据制作单位", "--basis-issuer"),
    "basis_number": FieldName("执行依据文号", "--basis-number"),
    "filed_on": FieldName("立案时间", "--filed-on"),
    "listed_on": FieldName("纳入日期"),
    "delisted_on": FieldName("删除日期"),
    "ground_arose_on": FieldName("删除/更正事由发生日期", "--ground-arose-on"),
    "credit_repair": FieldName("信用修复方式", "--credit-repair"),
    "correction": FieldName("更正"),
    "listing": FieldName("失信名单条目"),
    "reveal": FieldName("显示完整证件号", "--reveal"),
    # ---- debtors of lookups, tasks and case parties
    "debtor": FieldName("被执行人"),
    "debtor.type": FieldName("被执行人类型", "--debtor-type"),
    "debtor.name": FieldName("被执行人姓名/名称", "--debtor-name"),
    "debtor.id_number": FieldName("被执行人身份证号", "--id-number"),
    "debtor.credit_code": FieldName("被执行人统一社会信用代码", "--credit-code"),
    "debtor.org_code": FieldName("被执行人组织机构代码", "--org-code"),
    # ---- lookups (lookup request / answer)
    "target_node": FieldName("被查询地区节点", "--to"),
    "target": FieldName("被查询地区节点", "--to"),
    "categories": FieldName("财产类别", "--categories"),
    "category": FieldName("财产类别"),
    "purpose": FieldName("查询事由", "--purpose"),
    "actor": FieldName("承办人", "--actor"),
    "assets": FieldName("财产"),
    "assets_found": FieldName("查得财产数"),
    "request": FieldName("查询请求"),
    "requester": FieldName("请求方节点"),
    # ---- tasks (task delegate / accept / complete ...)
    "task": FieldName("委托执行事项"),
    "scope": FieldName("委托范围", "--scope"),
    "matter": FieldName("委托事项", "--matter"),
    "delegating_court": FieldName("委托法院", "--court"),
    "receiving_court": FieldName("受托法院", "--receiving-court"),
    "receiving_node": FieldName("受托地区节点", "--to"),
    "registered_case_number": FieldName("受托法院立案案号", "--registered-case"),
    "amount_fen": FieldName("执行标的金额", "--amount"),
    "costs_fen": FieldName("执行费用", "--costs"),
    "deadline_on": FieldName("办理期限", "--deadline"),
    "materials_due_on": FieldName("补充材料期限", "--materials-due"),
    "documents": FieldName("委托材料", "--document"),
    "documents[].sha256": FieldName("委托材料摘要", "--document-digest"),
    "sha256": FieldName("材料摘要", "--document-digest"),
    "detail": FieldName("说明", "--note"),
    "reason": FieldName("理由", "--reason"),
    "status": FieldName("状态", "--status"),
    "judge": FieldName("承办法官", "--judge"),
    "report": FieldName("执行情况报告", "--report"),
    "result": FieldName("执行结果", "--result"),
    "found[].asset_id": FieldName("查得财产编号", "--found"),
    "documents[].name": FieldName("委托材料名称", "--document"),
    "assets[].asset_id": FieldName("财产编号", "--asset"),
    "assets[].category": FieldName("财产类别", "--asset"),
    "assets[].value_fen": FieldName("财产价值", "--asset"),
    # ---- seizures (measures a task hands over)
    "measures": FieldName("查封、扣押、冻结措施", "--measure"),
    "measures[]": FieldName("查封、扣押、冻结措施", "--measure"),
    "measures[].asset": FieldName("措施所涉财产", "--measure"),
    "measures[].term_days": FieldName("措施期限（日）", "--measure"),
    "measures[].asset.asset_id": FieldName("措施所涉财产编号", "--measure"),
    "measures[].asset.category": FieldName("措施所涉财产类别", "--measure"),
    "measures[].value_fen": FieldName("措施所涉财产价值", "--measure"),
    "measures[].start_on": FieldName("措施起始日期", "--measure"),
    "measures[].indivisible_reason": FieldName("不可分物说明", "--measure"),
    "seizures": FieldName("查封、扣押、冻结措施"),
    "seizure_id": FieldName("措施编号", "SEIZURE_ID"),
    "asset": FieldName("财产"),
    "start_on": FieldName("措施起始日期"),
    "end_on": FieldName("措施届满日期"),
    "renewed_on": FieldName("续行日期"),
    "term_days": FieldName("措施期限（日）", "--term-days"),
    "value_fen": FieldName("财产价值"),
    "indivisible_reason": FieldName("不可分物说明"),
    "queue_position": FieldName("轮候顺序"),
    # ---- asset import files (ccnode assets import: one JSON object a line)
    "asset_id": FieldName("财产编号"),
    "owner_id": FieldName("财产所有人证件号码"),
    "owner_name": FieldName("财产所有人姓名/名称"),
    "registry": FieldName("登记机构"),
    "reference": FieldName("账号/权证号"),
    "description": FieldName("财产描述"),
    "location": FieldName("财产所在地"),
    "seizures[]": FieldName("已有查封记录"),
    "seizures[].court": FieldName("查封法院"),
    "seizures[].case_number": FieldName("查封案号"),
    # ---- registers (officers add, cases add)
    "officer_id": FieldName("承办人编号", "--id"),
    "role": FieldName("承办人角色", "--role"),
    "officer.name": FieldName("承办人姓名", "--name"),
    # ---- agencies
    "subjects": FieldName("查询对象"),
    "subject.id_number": FieldName("查询对象证件号码"),
    "subject.name": FieldName("查询对象姓名/名称"),
    "subjects[].id_number": FieldName("查询对象证件号码"),
    "subjects[].name": FieldName("查询对象姓名/名称"),
    "rate_per_s": FieldName("每秒查询上限", "--rate"),
    # ---- the request itself
    "subject": FieldName("事项编号"),
    "payload": FieldName("请求内容"),
    "kind": FieldName("条目类别"),
    "drafts": FieldName("提交内容"),
    "as_of": FieldName("查询时点", "--as-of"),
    "on": FieldName("日期"),
    "peer_id": FieldName("对端节点编号", "PEER_ID"),
    "address": FieldName("对端地址", "HOST:PORT"),
    "agency.name": FieldName("联合惩戒单位名称", "NAME"),
    "after": FieldName("续读位置"),
    "indexes": FieldName("条目序号"),
    "records": FieldName("访问记录"),
    "court_prefixes": FieldName("所辖法院代码前缀", "--court-prefix"),
    # ---- the CLI's own options, for what it refuses before sending anything (named by the
    # option: ``joined("--assets", zh, explanation)``)
    "--assets": FieldName("所涉财产", "--assets"),
    "--from-lookup": FieldName("所据联查", "--from-lookup"),
    "--categories": FieldName("财产类别", "--categories"),
    "--subject": FieldName("被查询人证件号码", "--subject"),
}

_POSITION_RE = re.compile(r"\[\d+\]")
_POSITION_NUMBER_RE = re.compile(r"\[(\d+)\]")


def _name(field: str) -> FieldName | None:
    path = _POSITION_RE.sub("[]", field)
    known = FIELDS.get(path)
    if known is None:
        known = FIELDS.get(path.rsplit(".", 1)[-1])
    return known


def field_label(field: str) -> str:
    """``term_years`` -> ``惩戒期限（年）（--term-years）``; a field in a list says which one
    (``representatives[1].id_number`` -> ``第2个代表人身份证号（--representative）``). A field this
    table does not know is named as it is."""
    known = _name(field)
    if known is None:
        return field
    positions = _POSITION_NUMBER_RE.findall(field)
    ordinal = f"第{int(positions[-1]) + 1}个" if positions else ""
    return ordinal + known.label()


def known_field(field: str) -> bool:
    return _name(field) is not None


def joined(field: str, zh: str, explanation: str) -> str:
    """The one sentence of a refusal: ``<field label>：<zh> / <field>: <explanation>``."""
    return f"{field_label(field)}：{zh} / {field}: {explanation}"


def yuan(fen: int) -> str:
    """An amount as the officer reads and types it: ``123456`` fen -> ``1,234.56 元``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d} 元"
