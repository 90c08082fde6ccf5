"""The folded state as the services answer it: one function per state message.

The store keeps the folds' state messages (ccnode.v1.state); clients get the services' response
messages (admin, tasks, lookups). The two are kept apart so that a response can change without
changing a stored byte, and they meet only here, field by field: a field the state gains
reaches a client when a line here says so (tests/unit/test_state_compat.py checks that every
field of every state message is carried). Each function copies the state as it is; what a
client may see of it (masking, payloads and identifier hashes left out, read-time flags) is
the service's business.
"""

from __future__ import annotations

from ccnode.v1 import admin_pb2, lookups_pb2, state_pb2, tasks_pb2

# ---------------------------------------------------------------- blacklist


def listing_item(s: state_pb2.ListingState) -> admin_pb2.BlacklistItem:
    return admin_pb2.BlacklistItem(
        subject=s.subject,
        origin=s.origin,
        entry_id=s.entry_id,
        status=s.status,
        record=s.record if s.HasField("record") else None,
        delisted_on=s.delisted_on,
        delist_ground=s.delist_ground,
        delist_reason=s.delist_reason,
        last_index=s.last_index,
        delist_due_on=s.delist_due_on,
        credit_repair=s.credit_repair,
        former_representatives=s.former_representatives,
        delist_ground_arose_on=s.delist_ground_arose_on,
        delist_act_due_on=s.delist_act_due_on,
        delisted_late=s.delisted_late,
    )


# ---------------------------------------------------------------- tasks and the ledger


def task_event(s: state_pb2.TaskEventState) -> tasks_pb2.TaskEvent:
    return tasks_pb2.TaskEvent(
        entry_id=s.entry_id,
        origin=s.origin,
        index=s.index,
        kind=s.kind,
        hlc=s.hlc,
        parents=s.parents,
        actor=s.actor,
        audience=s.audience,
        held=s.held,
        payload=s.payload,
        on=s.on,
        position=s.position,
        outcome=s.outcome,
        rule=s.rule,
        note=s.note,
    )


def seizure_renewal(s: state_pb2.SeizureRenewalState) -> tasks_pb2.SeizureRenewal:
    return tasks_pb2.SeizureRenewal(
        entry_id=s.entry_id, renewed_on=s.renewed_on, term_days=s.term_days, end_on=s.end_on
    )


def seizure_item(s: state_pb2.SeizureState) -> tasks_pb2.SeizureItem:
    """The stored part of a seizure; its read-time view (state, queue, expiry) is the
    service's, from the whole ledger and the clock."""
    return tasks_pb2.SeizureItem(
        seizure_id=s.seizure_id,
        task=s.task,
        case_number=s.case_number,
        court=s.court,
        measure_entry=s.measure_entry,
        measure=s.measure if s.HasField("measure") else None,
        status=s.status,
        end_on=s.end_on,
        renewals=[seizure_renewal(r) for r in s.renewals],
        released_on=s.released_on,
        release_reason=s.release_reason,
        release_entry=s.release_entry,
        void_rule=s.void_rule,
        follow_up=s.follow_up,
        cap_fen=s.cap_fen,
        task_hlc=s.task_hlc,
    )


def task_item(s: state_pb2.TaskState) -> tasks_pb2.TaskItem:
    """The task with its events (payloads included: the service leaves them out) and
    seizures; its time-limit flags are the service's, from the dates and the clock."""
    return tasks_pb2.TaskItem(
        subject=s.subject,
        delegating_node=s.delegating_node,
        receiving_node=s.receiving_node,
        status=s.status,
        details_unknown=s.details_unknown,
        delegation=s.delegation if s.HasField("delegation") else None,
        documents=s.documents,
        registered_case_number=s.registered_case_number,
        receiving_judge=s.receiving_judge,
        delegated_on=s.delegated_on,
        clock_from=s.clock_from,
        accepted_on=s.accepted_on,
        started_on=s.started_on,
        last_report_on=s.last_report_on,
        returned_on=s.returned_on,
        finished_on=s.finished_on,
        reason=s.reason,
        result=s.result,
        found=s.found,
        cancel_too_late=s.cancel_too_late,
        follow_ups=s.follow_ups,
        seizures=[seizure_item(x) for x in s.seizures],
        events=[task_event(e) for e in s.events],
        delegated_hlc=s.delegated_hlc,
        case_closed_by=s.case_closed_by,
        closes_case=s.closes_case,
    )


# ---------------------------------------------------------------- lookups and reads


def lookup_reply(s: state_pb2.LookupReplyState) -> lookups_pb2.LookupReply:
    return lookups_pb2.LookupReply(
        entry_id=s.entry_id,
        origin=s.origin,
        denied=s.denied,
        actor=s.actor,
        hlc=s.hlc,
        asset_count=s.asset_count,
        assets_found=s.assets_found,
        truncated=s.truncated,
        denial_reason=s.denial_reason,
        denial_detail=s.denial_detail,
    )


def lookup_item(s: state_pb2.LookupState) -> lookups_pb2.LookupItem:
    return lookups_pb2.LookupItem(
        subject=s.subject,
        requester=s.requester,
        target=s.target,
        status=s.status,
        request_entry=s.request_entry,
        requested_by=s.requested_by,
        requested_hlc=s.requested_hlc,
        reply=lookup_reply(s.reply) if s.HasField("reply") else None,
        candidates=[lookup_reply(r) for r in s.candidates],
        case_number=s.case_number,
        court=s.court,
        purpose=s.purpose,
        categories=s.categories,
        subject_key=s.subject_key,
        debtor_type=s.debtor_type,
    )


def access_item(s: state_pb2.AccessState) -> lookups_pb2.AccessItem:
    return lookups_pb2.AccessItem(
        entry_id=s.entry_id,
        actor=s.actor,
        hlc=s.hlc,
        purpose=s.purpose,
        what=s.what,
        entries=s.entries,
        subject_key=s.subject_key,
        subject_keys=s.subject_keys,
    )
