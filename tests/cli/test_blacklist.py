"""``ccnode blacklist ...`` against the fake Admin service: requests built, output, masking."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import click
import grpc
import pytest

from ccnode.v1 import admin_pb2, log_pb2, payloads_pb2
from cli.blacklist import split_submission
from node.config import NodeConfig
from sync.domain.identifiers import resident_id_check_char
from tests.cli.support import FakeAdmin, fails, ok

_BODY = "51010419900307123"
ID = _BODY + resident_id_check_char(_BODY)  # a valid resident ID (male, born 1990-03-07)
MASKED = ID[:10] + "****" + ID[14:]
ACTOR = {"CCNODE_ACTOR": "officer-wang"}

LISTING = {
    "case_number": "（2024）川0104执1234号",
    "court": "川0104",
    "debtor_type": "person",
    "name": "张三",
    "id_number": ID,
    "obligation": "支付货款120000元",
    "performance": "全部未履行",
    "ground": "G1",
    "basis_issuer": "成都市锦江区人民法院",
    "basis_number": "（2023）川0104民初567号",
    "filed_on": "2024-03-01",
}


def _add_args(home: Path, **overrides: str) -> list[str]:
    fields = {**LISTING, **overrides}
    args = ["blacklist", "add", "--home", str(home)]
    for key, value in fields.items():
        if value:
            args += ["--" + key.replace("_", "-"), value]
    return args


def _record(id_number: str = ID, **fields: object) -> payloads_pb2.BlacklistRecord:
    return payloads_pb2.BlacklistRecord(
        case_number="（2024）川0104执1234号",
        court="川0104",
        debtor=payloads_pb2.Debtor(
            type=payloads_pb2.PERSON, name="张三", id_number=id_number, sex="M"
        ),
        obligation="支付货款120000元",
        performance="全部未履行",
        ground=payloads_pb2.G1,
        basis_issuer="成都市锦江区人民法院",
        basis_number="（2023）川0104民初567号",
        filed_on="2024-03-01",
        listed_on="2024-04-02",
        **fields,  # type: ignore[arg-type]
    )


def _item(id_number: str = MASKED, subject: str = "chengdu/bl/5") -> admin_pb2.BlacklistItem:
    return admin_pb2.BlacklistItem(
        subject=subject,
        origin="chengdu",
        entry_id="chengdu/5",
        status="listed",
        record=_record(id_number),
        last_index=5,
    )


def _submitted(fake: FakeAdmin) -> admin_pb2.SubmitRequest:
    (request,) = fake.received("Submit")
    assert isinstance(request, admin_pb2.SubmitRequest)
    return request


@pytest.fixture
def submit_ok(fake: FakeAdmin) -> FakeAdmin:
    fake.responses["Submit"] = admin_pb2.SubmitResponse(
        entry_ids=["chengdu/5"], subjects=["chengdu/bl/5"], size=6
    )
    return fake


# ---------------------------------------------------------------- add


def test_add_builds_one_listing_draft(home: Path, submit_ok: FakeAdmin) -> None:
    result = ok(*_add_args(home, conduct="转移财产"), env=ACTOR)
    request = _submitted(submit_ok)
    assert request.actor == "officer-wang"
    (draft,) = request.drafts
    assert draft.kind == log_pb2.BLACKLIST_LISTED
    assert draft.subject == ""  # the node assigns it
    rec = draft.payload.blacklist_listed.record
    assert rec.case_number == LISTING["case_number"]
    assert rec.court == "川0104"
    assert rec.debtor.type == payloads_pb2.PERSON
    assert rec.debtor.id_number == ID
    assert rec.ground == payloads_pb2.G1
    assert rec.term_years == 0  # G1: no fixed term
    assert rec.conduct == "转移财产"
    assert rec.filed_on == "2024-03-01"
    assert "chengdu/bl/5" in result.stdout and "chengdu/5" in result.stdout
    assert ID not in result.stdout + result.stderr


def test_add_fixed_term_ground_defaults_to_two_years(home: Path, submit_ok: FakeAdmin) -> None:
    ok(*_add_args(home, ground="g3"), "--actor", "officer-li")
    rec = _submitted(submit_ok).drafts[0].payload.blacklist_listed.record
    assert rec.ground == payloads_pb2.G3
    assert rec.term_years == 2
    assert _submitted(submit_ok).actor == "officer-li"


def test_add_org(home: Path, submit_ok: FakeAdmin) -> None:
    args = _add_args(home, debtor_type="org", id_number="", name="某某贸易有限公司")
    ok(*args, "--credit-code", "91350100M000100Y43", "--legal-representative", "李四",
       "--confirm-bad-credit-code", env=ACTOR)  # fmt: skip
    draft = _submitted(submit_ok).drafts[0]
    assert draft.confirm_bad_credit_code
    debtor = draft.payload.blacklist_listed.record.debtor
    assert debtor.type == payloads_pb2.ORG
    assert debtor.credit_code == "91350100M000100Y43"
    assert debtor.legal_representative == "李四"


def test_add_json(home: Path, submit_ok: FakeAdmin) -> None:
    doc = json.loads(ok(*_add_args(home), "--json", env=ACTOR).stdout)
    assert doc == {
        "subjects": ["chengdu/bl/5"],
        "entry_ids": ["chengdu/5"],
        "size": 6,
        "warnings": [],
    }


def test_add_missing_field_names_the_option(home: Path, fake: FakeAdmin) -> None:
    result = fails(2, *_add_args(home, case_number=""), env=ACTOR)
    assert "案号（--case-number）：必须填写 / case_number: is required" in result.stderr
    assert fake.requests == []


def test_add_bad_date_names_the_option(home: Path, fake: FakeAdmin) -> None:
    result = fails(2, *_add_args(home, filed_on="2024/03/01"), env=ACTOR)
    assert "立案时间（--filed-on）：须为 YYYY-MM-DD 格式的日期" in result.stderr
    assert fake.requests == []


def test_add_needs_an_actor(home: Path, fake: FakeAdmin) -> None:
    result = fails(2, *_add_args(home))
    assert "--actor" in result.stderr
    assert fake.requests == []


def test_add_refused_by_the_node_shows_field_and_rule(home: Path, fake: FakeAdmin) -> None:
    fake.refuse(
        "Submit", "id_number", "minor", "the debtor is under 18 on the listing date", position=0
    )
    result = fails(3, *_add_args(home), env=ACTOR)
    assert "id_number: the debtor is under 18 on the listing date [rule: minor]" in result.stderr
    assert "draft 0" not in result.stderr
    assert ID not in result.stderr


def test_add_shows_warnings(home: Path, fake: FakeAdmin) -> None:
    fake.responses["Submit"] = admin_pb2.SubmitResponse(
        entry_ids=["chengdu/5"],
        subjects=["chengdu/bl/5"],
        size=6,
        warnings=["draft 0: credit_code: fails the checksum; accepted as confirmed"],
    )
    result = ok(*_add_args(home), env=ACTOR)
    assert "credit_code: fails the checksum; accepted as confirmed" in result.stderr


# ---------------------------------------------------------------- import


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _case(n: int) -> str:
    return f"（2024）川0104执{1000 + n}号"


def _listing_line(**overrides: object) -> str:
    return json.dumps({**LISTING, **overrides}, ensure_ascii=False)


def test_import_sends_one_request_with_every_line(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    fake.responses["Submit"] = admin_pb2.SubmitResponse(
        entry_ids=["chengdu/0", "chengdu/1", "chengdu/2"],
        subjects=["chengdu/bl/0", "chengdu/bl/1", "chengdu/bl/2"],
        size=3,
    )
    file = _write_lines(
        tmp_path / "list.jsonl",
        [
            _listing_line(),
            "",
            _listing_line(ground="G2", term_years=3, case_number="（2024）川0104执1235号"),
            _listing_line(name="李四", case_number="（2024）川0104执1236号"),
        ],
    )
    result = ok("blacklist", "import", "--home", home, file, env=ACTOR)
    request = _submitted(fake)
    assert len(request.drafts) == 3
    assert {d.kind for d in request.drafts} == {log_pb2.BLACKLIST_LISTED}
    records = [d.payload.blacklist_listed.record for d in request.drafts]
    assert [r.term_years for r in records] == [0, 3, 0]
    assert [r.debtor.name for r in records] == ["张三", "张三", "李四"]
    assert "listed 已列入 3 debtors" in result.stdout
    assert ID not in result.stdout


def test_import_json_prints_one_document(home: Path, fake: FakeAdmin, tmp_path: Path) -> None:
    fake.responses["Submit"] = admin_pb2.SubmitResponse(
        entry_ids=["chengdu/0", "chengdu/1"], subjects=["chengdu/bl/0", "chengdu/bl/1"], size=2
    )
    lines = [_listing_line(), _listing_line(case_number="（2024）川0104执1235号")]
    file = _write_lines(tmp_path / "list.jsonl", lines)
    result = ok("blacklist", "import", "--home", home, file, "--json", env=ACTOR)
    doc = json.loads(result.stdout)
    assert doc["listed"] == 2
    assert doc["subjects"] == ["chengdu/bl/0", "chengdu/bl/1"]
    assert "checking" not in result.stderr  # no progress with --json


def test_import_bad_line_names_line_and_field_and_sends_nothing(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    lines = [
        _listing_line(),
        _listing_line(case_number=_case(1)),
        _listing_line(debtor_type="robot"),
    ]
    lines.append("{")
    file = _write_lines(tmp_path / "list.jsonl", lines)
    result = fails(2, "blacklist", "import", "--home", home, file, env=ACTOR)
    assert (
        "第3行（line 3）：被执行人类型（--debtor-type）：须为以下之一：person, org"
        " / debtor_type: must be one of person, org" in result.stderr
    )
    assert fake.requests == []


def test_import_unknown_key_and_missing_key(home: Path, fake: FakeAdmin, tmp_path: Path) -> None:
    file = _write_lines(tmp_path / "a.jsonl", [_listing_line(), _listing_line(colour="red")])
    result = fails(2, "blacklist", "import", "--home", home, file, env=ACTOR)
    assert (
        "第2行（line 2）：colour：不是导入格式的字段 / colour: is not a field of the listing format"
        in result.stderr
    )
    listing = dict(LISTING)
    del listing["court"]
    file = _write_lines(tmp_path / "b.jsonl", [json.dumps(listing, ensure_ascii=False)])
    result = fails(2, "blacklist", "import", "--home", home, file, env=ACTOR)
    assert "第1行（line 1）：执行法院（--court）：必须填写 / court: is required" in result.stderr
    assert fake.requests == []


def test_import_bad_json_names_the_line(home: Path, fake: FakeAdmin, tmp_path: Path) -> None:
    file = _write_lines(tmp_path / "list.jsonl", [_listing_line(), '{"name": ' + '"' + ID])
    result = fails(2, "blacklist", "import", "--home", home, file, env=ACTOR)
    assert "line 2: not valid JSON" in result.stderr
    assert ID not in result.stderr  # the message never quotes the line
    assert fake.requests == []


def test_import_empty_file(home: Path, fake: FakeAdmin, tmp_path: Path) -> None:
    file = _write_lines(tmp_path / "list.jsonl", ["", "  "])
    assert "no listings" in fails(2, "blacklist", "import", "--home", home, file, env=ACTOR).stderr
    assert fake.requests == []


def test_import_node_refusal_is_reported_as_a_file_line(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    fake.refuse(
        "Submit", "court", "court_prefix", "is outside this node's court prefixes", position=1
    )
    lines = ["", _listing_line(), "", _listing_line(case_number=_case(1))]
    file = _write_lines(tmp_path / "list.jsonl", lines)
    result = fails(3, "blacklist", "import", "--home", home, file, env=ACTOR)
    # draft 1 is the second listing, on line 4 of the file.
    assert (
        "line 4: 执行法院（--court）：不符合规则"
        " / court: is outside this node's court prefixes [rule: court_prefix]" in (result.stderr)
    )
    assert len(fake.received("Submit")) == 1


def test_import_repeated_case_and_debtor_is_refused_before_sending(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    lines = [_listing_line(), _listing_line(case_number=_case(1)), "", _listing_line(name="张")]
    file = _write_lines(tmp_path / "list.jsonl", lines)
    result = fails(2, "blacklist", "import", "--home", home, file, env=ACTOR)
    assert "第4行（line 4）：被执行人：与第1行重复" in result.stderr
    assert "[rule: duplicate_listing]" in result.stderr
    assert fake.requests == []


def _small_message_limit(home: Path) -> int:
    """The smallest message limit a node takes (64 KiB, above its batch limit)."""
    config = NodeConfig.load(home)
    config.limits.batch_bytes_max = 16 * 1024
    config.limits.grpc_message_bytes_max = 64 * 1024
    config.save()
    return 64 * 1024


def test_import_too_big_for_one_message_is_checked_then_sent_in_parts(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    limit = _small_message_limit(home)
    lines = [_listing_line(case_number=_case(n)) for n in range(400)]
    file = _write_lines(tmp_path / "list.jsonl", lines)
    result = ok("blacklist", "import", "--home", home, file, "--json", env=ACTOR)
    requests = fake.received("Submit")
    checks = [r for r in requests if r.check_only]
    sends = [r for r in requests if not r.check_only]
    assert len(sends) > 1 and len(checks) == len(sends)
    assert requests[: len(checks)] == checks  # every part checked before the first is sent
    assert all(r.ByteSize() <= limit for r in requests)
    sent = [d.payload.blacklist_listed.record.case_number for r in sends for d in r.drafts]
    assert sent == [_case(n) for n in range(400)]  # each line once, in the file's order
    assert all(r.skip_listed and r.actor == "officer-wang" for r in requests)
    assert json.loads(result.stdout)["submissions"] == len(sends)


def test_import_refusal_in_a_later_part_names_the_file_line_and_lists_nothing(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    _small_message_limit(home)
    fake.refuse("Submit", "court", "court_prefix", "is outside this node's courts", position=2)
    lines = [_listing_line(case_number=_case(n)) for n in range(400)]
    file = _write_lines(tmp_path / "list.jsonl", lines)
    result = fails(3, "blacklist", "import", "--home", home, file, env=ACTOR)
    # The first part is refused while it is checked: its draft 2 is line 3; nothing was sent
    # for listing.
    assert (
        "line 3: 执行法院（--court）：不符合规则"
        " / court: is outside this node's courts [rule: court_prefix]" in result.stderr
    )
    assert all(r.check_only for r in fake.received("Submit"))


def test_split_submission_fits_each_part_and_refuses_an_oversized_draft() -> None:
    drafts = [
        admin_pb2.Draft(kind=log_pb2.BLACKLIST_LISTED, subject="x" * (100 + n)) for n in range(50)
    ]
    parts = split_submission(drafts, "officer-wang", 6000)
    assert parts[0][0] == 0 and parts[-1][1] == 50
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))  # consecutive
    for start, stop in parts:
        request = admin_pb2.SubmitRequest(drafts=drafts[start:stop], actor="officer-wang")
        assert request.ByteSize() <= 6000
    with pytest.raises(click.ClickException, match="over the node's 300-byte message limit"):
        split_submission(drafts, "officer-wang", 300)


def test_import_help_documents_the_format() -> None:
    text = ok("blacklist", "import", "--help").stdout
    for key in ("court", "case_number", "debtor_type", "id_number", "credit_code", "ground"):
        assert key in text
    assert "examples/listings.jsonl" in text


# ---------------------------------------------------------------- correct, delist


def test_correct_replaces_only_the_given_fields(home: Path, submit_ok: FakeAdmin) -> None:
    current = _item(id_number=ID)  # as BlacklistGet returns it with reveal
    current.record.term_end_on = ""
    submit_ok.responses["BlacklistGet"] = admin_pb2.BlacklistGetResponse(item=current)
    result = ok(
        "blacklist", "correct", "--home", home, "chengdu/bl/5",
        "--performance", "部分履行", "--reason", "履行情况录入错误", env=ACTOR,
    )  # fmt: skip
    (get,) = submit_ok.received("BlacklistGet")
    assert (get.subject, get.reveal, get.actor, get.purpose) == (
        "chengdu/bl/5", True, "officer-wang", "correction",
    )  # fmt: skip
    (draft,) = _submitted(submit_ok).drafts
    assert draft.kind == log_pb2.BLACKLIST_CORRECTED
    assert draft.subject == "chengdu/bl/5"
    body = draft.payload.blacklist_corrected
    assert body.reason == "履行情况录入错误"
    expected = _record(ID)
    expected.performance = "部分履行"
    assert body.record == expected
    assert ID not in result.stdout + result.stderr
    assert "performance" in result.stdout


def test_correct_needs_a_field(home: Path, fake: FakeAdmin) -> None:
    args: list[str | Path] = [
        "blacklist",
        "correct",
        "--home",
        home,
        "chengdu/bl/5",
        "--reason",
        "x",
    ]
    assert "at least one field" in fails(2, *args, env=ACTOR).stderr
    assert fake.requests == []


def test_delist_builds_the_draft(home: Path, submit_ok: FakeAdmin) -> None:
    ok(
        "blacklist", "delist", "--home", home, "chengdu/bl/5", "--ground", "d1",
        "--reason", "已全部履行", "--credit-repair", "active", "--on", "2024-05-06", env=ACTOR,
    )  # fmt: skip
    (draft,) = _submitted(submit_ok).drafts
    assert draft.kind == log_pb2.BLACKLIST_DELISTED
    assert draft.subject == "chengdu/bl/5"
    body = draft.payload.blacklist_delisted
    assert body.ground == payloads_pb2.D1
    assert body.reason == "已全部履行"
    assert body.credit_repair == payloads_pb2.ACTIVE_PERFORMANCE
    assert body.delisted_on == "2024-05-06"


def test_delist_defaults(home: Path, submit_ok: FakeAdmin) -> None:
    ok("blacklist", "delist", "--home", home, "chengdu/bl/5", "--ground", "REVOKED",
       "--reason", "错误纳入", env=ACTOR)  # fmt: skip
    body = _submitted(submit_ok).drafts[0].payload.blacklist_delisted
    assert body.ground == payloads_pb2.REVOKED
    assert body.delisted_on == ""  # the node dates it today
    assert body.credit_repair == payloads_pb2.CREDIT_REPAIR_UNSPECIFIED


def test_delist_rejects_unknown_ground(home: Path, fake: FakeAdmin) -> None:
    fails(2, "blacklist", "delist", "--home", home, "chengdu/bl/5", "--ground", "D8",
          "--reason", "x", env=ACTOR)  # fmt: skip
    assert fake.requests == []


# ---------------------------------------------------------------- reads


def test_list_json_shape_and_masking(home: Path, fake: FakeAdmin) -> None:
    # Even if a node bug returned an unmasked ID, the CLI masks it.
    fake.responses["BlacklistSearch"] = admin_pb2.BlacklistSearchResponse(
        items=[_item(id_number=ID)], total=7
    )
    result = ok("blacklist", "list", "--home", home, "--origin", "chengdu", "--status",
                "listed", "--limit", "1", "--offset", "4", "--json")  # fmt: skip
    (request,) = fake.received("BlacklistSearch")
    assert (request.origin, request.status, request.limit, request.offset) == (
        "chengdu", "listed", 1, 4,
    )  # fmt: skip
    assert not request.reveal
    doc = json.loads(result.stdout)
    assert set(doc) == {"items", "total"}
    assert doc["total"] == 7
    (item,) = doc["items"]
    assert item["id"] == MASKED
    assert item["subject"] == "chengdu/bl/5"
    assert item["ground"] == "G1"
    assert ID not in result.stdout


def test_list_table(home: Path, fake: FakeAdmin) -> None:
    fake.responses["BlacklistSearch"] = admin_pb2.BlacklistSearchResponse(items=[_item()], total=1)
    out = ok("blacklist", "list", "--home", home).stdout
    assert "案号 case" in out
    assert "（2024）川0104执1234号" in out
    assert MASKED in out
    assert "1–1 of 1" in out


def test_list_expiring_sends_the_day_and_the_window(home: Path, fake: FakeAdmin) -> None:
    item = _item(id_number=ID)
    item.record.term_end_on, item.delist_due_on = "2027-01-01", "2027-01-06"
    item.term_state, item.term_days_left = "expiring", 10
    fake.responses["BlacklistSearch"] = admin_pb2.BlacklistSearchResponse(
        items=[item], total=1, as_of="2026-12-22"
    )
    result = ok("blacklist", "list", "--home", home, "--expiring", "--as-of", "2026-12-22",
                "--json")  # fmt: skip
    (request,) = fake.received("BlacklistSearch")
    assert (request.expiring_within_days, request.as_of, request.status) == (30, "2026-12-22", "")
    doc = json.loads(result.stdout)
    assert set(doc) == {"items", "total", "as_of"}
    assert doc["as_of"] == "2026-12-22"
    (shown,) = doc["items"]
    assert (shown["term_state"], shown["term_days_left"], shown["term_end_on"]) == (
        "expiring", 10, "2027-01-01",
    )  # fmt: skip
    assert shown["id"] == MASKED and ID not in result.stdout
    out = ok("blacklist", "list", "--home", home, "--expiring", "--within-days", "90").stdout
    request = fake.received("BlacklistSearch")[-1]
    assert (request.expiring_within_days, request.as_of) == (90, "")  # "" = the node's today
    for text in ("terms ending within 90 days of 2026-12-22", "expiring 即将届满", "2027-01-06"):
        assert text in out, text


def test_list_expiring_usage_errors(home: Path, fake: FakeAdmin) -> None:
    assert "go with --expiring" in fails(2, "blacklist", "list", "--home", home, "--as-of",
                                         "2026-12-22").stderr  # fmt: skip
    assert "go with --expiring" in fails(2, "blacklist", "list", "--home", home,
                                         "--within-days", "9").stderr  # fmt: skip
    assert "listed entries only" in fails(2, "blacklist", "list", "--home", home, "--expiring",
                                          "--status", "delisted").stderr  # fmt: skip
    bad = fails(2, "blacklist", "list", "--home", home, "--expiring", "--as-of", "22.12.2026")
    assert "--as-of" in bad.stderr
    assert fake.received("BlacklistSearch") == []


def test_show_reveal_needs_a_purpose(home: Path, fake: FakeAdmin) -> None:
    result = fails(2, "blacklist", "show", "--home", home, "chengdu/bl/5", "--reveal", env=ACTOR)
    assert "--purpose" in result.stderr
    assert fake.requests == []


def test_show_masked_and_revealed(home: Path, fake: FakeAdmin) -> None:
    fake.responses["BlacklistGet"] = admin_pb2.BlacklistGetResponse(
        item=_item(id_number=ID),
        history=[
            admin_pb2.HistoryEvent(
                entry_id="chengdu/5", kind=log_pb2.BLACKLIST_LISTED, actor="officer-wang"
            )
        ],
    )
    doc = json.loads(ok("blacklist", "show", "--home", home, "chengdu/bl/5", "--json").stdout)
    assert doc["item"]["id"] == MASKED
    assert doc["history"] == [
        {"entry_id": "chengdu/5", "kind": "BLACKLIST_LISTED", "actor": "officer-wang", "hlc": 0}
    ]
    result = ok("blacklist", "show", "--home", home, "chengdu/bl/5", "--reveal",
                "--purpose", "核对身份", env=ACTOR)  # fmt: skip
    assert ID in result.stdout
    assert "BLACKLIST_LISTED" in result.stdout
    first, second = fake.received("BlacklistGet")
    assert not first.reveal
    assert (second.reveal, second.purpose, second.actor) == (True, "核对身份", "officer-wang")


def test_check_json_hits(home: Path, fake: FakeAdmin) -> None:
    delisted = _item(subject="chengdu/bl/2")
    delisted.status = "delisted"
    delisted.entry_id = "chengdu/2"
    fake.responses["BlacklistSearch"] = admin_pb2.BlacklistSearchResponse(
        items=[_item(), delisted], total=2
    )
    result = ok("blacklist", "check", "--home", home, "--id", ID.lower(), "--json")
    (request,) = fake.received("BlacklistSearch")
    assert request.id_number == ID.lower()
    assert not request.reveal
    doc = json.loads(result.stdout)
    assert sorted(doc) == ["as_representative", "hits"]
    assert doc["as_representative"] == []
    assert [(h["origin"], h["entry_id"], h["status"]) for h in doc["hits"]] == [
        ("chengdu", "chengdu/5", "listed"),
        ("chengdu", "chengdu/2", "delisted"),
    ]
    for hit in doc["hits"]:
        assert hit["case_number"] == "（2024）川0104执1234号"
        assert hit["id"] == MASKED


def test_check_human_masks_the_query(home: Path, fake: FakeAdmin) -> None:
    out = ok("blacklist", "check", "--home", home, "--id", ID).stdout
    assert "no listing found" in out
    assert MASKED in out and ID not in out
    fake.responses["BlacklistSearch"] = admin_pb2.BlacklistSearchResponse(items=[_item()])
    out = ok("blacklist", "check", "--home", home, "--name", "张三").stdout
    assert "1 hits for name 张三; 1 currently listed" in out
    assert fake.received("BlacklistSearch")[1].name == "张三"


def test_check_needs_exactly_one_key(home: Path, fake: FakeAdmin) -> None:
    fails(2, "blacklist", "check", "--home", home)
    fails(2, "blacklist", "check", "--home", home, "--id", ID, "--name", "张三")
    assert fake.requests == []


def test_org_credit_code_is_published_in_full(home: Path, fake: FakeAdmin) -> None:
    item = _item()
    item.record.debtor.CopyFrom(
        payloads_pb2.Debtor(
            type=payloads_pb2.ORG, name="某某公司", credit_code="91350100M000100Y43"
        )
    )
    fake.responses["BlacklistSearch"] = admin_pb2.BlacklistSearchResponse(items=[item])
    doc = json.loads(ok("blacklist", "check", "--home", home, "--name", "某某", "--json").stdout)
    assert doc["hits"][0]["id"] == "91350100M000100Y43"
    assert doc["hits"][0]["debtor_type"] == "org"


# ---------------------------------------------------------------- re-runs and lost answers


def test_import_skips_what_is_listed_and_counts_it(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    fake.responses["Submit"] = admin_pb2.SubmitResponse(
        entry_ids=["chengdu/5"],
        subjects=["chengdu/bl/5"],
        size=6,
        skipped=[admin_pb2.SkippedDraft(position=1, subject="chengdu/bl/2")],
    )
    lines = [_listing_line(name="李四", case_number=_case(1)), "", _listing_line()]
    file = _write_lines(tmp_path / "list.jsonl", lines)
    result = ok("blacklist", "import", "--home", home, file, env=ACTOR)
    assert _submitted(fake).skip_listed  # the default: a re-run is safe
    assert "listed 已列入 1 debtors" in result.stdout
    assert "already listed 已在列: 1" in result.stdout
    doc = json.loads(ok("blacklist", "import", "--home", home, file, "--json", env=ACTOR).stdout)
    assert doc["listed"] == 1 and doc["already_listed"] == 1
    assert doc["skipped"] == [{"line": 3, "subject": "chengdu/bl/2"}]  # draft 1 is line 3


def test_import_of_what_is_all_listed_lists_nothing(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    fake.responses["Submit"] = admin_pb2.SubmitResponse(
        size=6, skipped=[admin_pb2.SkippedDraft(position=0, subject="chengdu/bl/2")]
    )
    file = _write_lines(tmp_path / "list.jsonl", [_listing_line()])
    result = ok("blacklist", "import", "--home", home, file, env=ACTOR)
    assert "listed 已列入 0 debtors" in result.stdout
    assert "already listed 已在列: 1" in result.stdout


def test_import_no_skip_listed_is_refused_by_a_listed_line(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    fake.refuse("Submit", "debtor", "already_listed", "already listed as chengdu/bl/2", position=0)
    file = _write_lines(tmp_path / "list.jsonl", [_listing_line()])
    result = fails(3, "blacklist", "import", "--home", home, file, "--no-skip-listed", env=ACTOR)
    assert not _submitted(fake).skip_listed
    assert (
        "line 1: 被执行人：不符合规则"
        " / debtor: already listed as chengdu/bl/2 [rule: already_listed]" in (result.stderr)
    )


def test_a_lost_answer_to_an_import_says_it_is_safe_to_re_run(
    home: Path, fake: FakeAdmin, tmp_path: Path
) -> None:
    fake.fail("Submit", grpc.StatusCode.UNAVAILABLE, "Socket closed")
    file = _write_lines(tmp_path / "list.jsonl", [_listing_line()])
    result = fails(5, "blacklist", "import", "--home", home, file, env=ACTOR)
    assert "the outcome is unknown: the import is safe to re-run" in result.stderr
    assert "not running" not in result.stderr


def test_a_lost_answer_to_an_add_says_how_to_check(home: Path, fake: FakeAdmin) -> None:
    fake.fail("Submit", grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
    result = fails(5, *_add_args(home), env=ACTOR)
    assert "the outcome is unknown: check with `ccnode blacklist check" in result.stderr
    assert ID not in result.stderr


# ---------------------------------------------------------------- representatives (限制消费)

ORG = {
    **{k: v for k, v in LISTING.items() if k != "id_number"},
    "debtor_type": "org",
    "name": "成都某某贸易有限公司",
    "credit_code": "91350100M000100Y43",
}


def _org_args(home: Path, *extra: str) -> list[str]:
    args = ["blacklist", "add", "--home", str(home)]
    for key, value in ORG.items():
        args += ["--" + key.replace("_", "-"), value]
    return [*args, *extra]


def test_add_takes_representatives(home: Path, submit_ok: FakeAdmin) -> None:
    ok(
        *_org_args(
            home,
            "--representative", f"legal_representative:李四:{ID}",
            "--representative", f"ACTUAL_CONTROLLER:Smith: John:{ID}",
        ),
        env=ACTOR,
    )  # fmt: skip
    rec = _submitted(submit_ok).drafts[0].payload.blacklist_listed.record
    assert [(r.role, r.name, r.id_number) for r in rec.representatives] == [
        (payloads_pb2.LEGAL_REPRESENTATIVE, "李四", ID),
        (payloads_pb2.ACTUAL_CONTROLLER, "Smith: John", ID),  # a colon in a name is kept
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("李四", "第1个代表人（--representative）：须为 身份:姓名:身份证号（ROLE:NAME:ID）"),
        (
            "boss:李四:" + ID,
            "第1个代表人身份（--representative）：须为以下之一：legal_representative",
        ),
    ],
)
def test_a_bad_representative_names_the_option(
    home: Path, fake: FakeAdmin, value: str, message: str
) -> None:
    result = fails(2, *_org_args(home, "--representative", value), env=ACTOR)
    assert message in result.stderr
    assert ID not in result.stderr
    assert fake.received("Submit") == []


def test_check_reports_the_organisation_a_representative_binds(home: Path, fake: FakeAdmin) -> None:
    org = _item(subject="chengdu/bl/9")
    org.record.debtor.CopyFrom(
        payloads_pb2.Debtor(
            type=payloads_pb2.ORG, name="成都某某贸易有限公司", credit_code="91350100M000100Y43"
        )
    )
    rep = payloads_pb2.Representative(
        role=payloads_pb2.LEGAL_REPRESENTATIVE, name="李四", id_number=ID
    )
    org.record.representatives.append(rep)
    fake.responses["BlacklistSearch"] = admin_pb2.BlacklistSearchResponse(
        representative_hits=[admin_pb2.RepresentativeHit(item=org, representative=rep)]
    )
    result = ok("blacklist", "check", "--home", home, "--id", ID)
    assert "legal representative of 成都某某贸易有限公司 (listing chengdu/bl/9)" in result.stdout
    assert "法定代表人" in result.stdout
    assert ID not in result.stdout
    doc = json.loads(ok("blacklist", "check", "--home", home, "--id", ID, "--json").stdout)
    (hit,) = doc["as_representative"]
    assert (hit["subject"], hit["role"], hit["status"]) == (
        "chengdu/bl/9", "LEGAL_REPRESENTATIVE", "listed",
    )  # fmt: skip
    assert hit["representatives"][0]["id"] == MASKED  # masked by the CLI too


def test_import_takes_representatives(home: Path, submit_ok: FakeAdmin, tmp_path: Path) -> None:
    line = {
        **ORG,
        "representatives": [{"role": "principal_manager", "name": "王五", "id_number": ID}],
        "legal_representative": "李四",
    }
    path = tmp_path / "orgs.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    ok("blacklist", "import", "--home", home, str(path), env=ACTOR)
    rec = _submitted(submit_ok).drafts[0].payload.blacklist_listed.record
    assert [(r.role, r.name) for r in rec.representatives] == [
        (payloads_pb2.PRINCIPAL_MANAGER, "王五")
    ]
    bad = {**line, "representatives": [{"role": "principal_manager", "name": "王五"}]}
    path.write_text(json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8")
    result = fails(2, "blacklist", "import", "--home", home, str(path), env=ACTOR)
    assert "第1行（line 1）：第1个代表人身份证号（--representative）：必须填写" in result.stderr


# ---------------------------------------------------------------- art. 6 fields and deadlines


def test_add_org_by_organisation_code_and_extended_term(home: Path, submit_ok: FakeAdmin) -> None:
    args = _add_args(home, debtor_type="org", id_number="", name="某某商贸部")
    ok(*args, "--org-code", "M000100Y-4", "--legal-representative", "李四", "--ground", "g2",
       "--term-years", "3", "--term-extension", "violence_or_threats", env=ACTOR)  # fmt: skip
    record = _submitted(submit_ok).drafts[0].payload.blacklist_listed.record
    assert record.debtor.org_code == "M000100Y-4"  # the node normalises and checks it
    assert (record.term_years, record.term_extension) == (3, payloads_pb2.VIOLENCE_OR_THREATS)


def test_delist_takes_the_date_the_ground_arose(home: Path, submit_ok: FakeAdmin) -> None:
    ok("blacklist", "delist", "--home", home, "chengdu/bl/5", "--ground", "d1", "--reason",
       "已全部履行", "--ground-arose-on", "2024-05-02", env=ACTOR)  # fmt: skip
    body = _submitted(submit_ok).drafts[0].payload.blacklist_delisted
    assert body.ground_arose_on == "2024-05-02"


def test_add_help_marks_what_a_listing_needs() -> None:
    text = ok("blacklist", "add", "--help").stdout
    for option in ("--case-number", "--court", "--name", "--filed-on", "--actor", "--home"):
        line = text[text.index(option) :]
        assert "[required" in line[: line.index("\n  --", 1)], option
    assert "具有多项失信行为" in " ".join(text.split())
    for command in ("correct", "delist"):
        assert "--ground-arose-on" in ok("blacklist", command, "--help").stdout


def test_check_by_an_organisation_code_written_with_its_hyphen(home: Path, fake: FakeAdmin) -> None:
    fake.responses["BlacklistSearch"] = admin_pb2.BlacklistSearchResponse()
    ok("blacklist", "check", "--home", home, "--id", "M000100Y-4")
    (request,) = fake.received("BlacklistSearch")
    assert request.id_number == "M000100Y4"
