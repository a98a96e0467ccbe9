"""Activities of approval gates: thin calls into the approvals services."""

from __future__ import annotations

from django.db import close_old_connections
from temporalio import activity

from approvals.services.notify import approval_notice_send
from approvals.services.requests import approval_expire
from ir_workflows.approvals.types import (
    EXPIRE_APPROVAL_ACTIVITY,
    SEND_APPROVAL_NOTICE_ACTIVITY,
    ApprovalNoticeInput,
    ApprovalNoticeResult,
    ExpireApprovalInput,
    ExpireApprovalResult,
)


@activity.defn(name=SEND_APPROVAL_NOTICE_ACTIVITY)
def send_approval_notice(notice: ApprovalNoticeInput) -> ApprovalNoticeResult:
    close_old_connections()
    try:
        return ApprovalNoticeResult(sent=approval_notice_send(request_id=notice.request_id, kind=notice.kind))
    finally:
        close_old_connections()


@activity.defn(name=EXPIRE_APPROVAL_ACTIVITY)
def expire_approval_request(expire: ExpireApprovalInput) -> ExpireApprovalResult:
    close_old_connections()
    try:
        return ExpireApprovalResult(status=approval_expire(request_id=expire.request_id))
    finally:
        close_old_connections()
