"""How failures travel in Temporal: trimmed to their cause, and their text encrypted by the payload codec.

An activity that fails on a database error used to send ~3.5 KB of nested stack traces: Temporal refused
it ("Failure exceeds size limit") and showed that instead of the cause, and the text (a database host
and port) sat in the history in clear. Here each failure keeps the first line of its message (at most
MESSAGE_CHARS), the innermost frames of its stack trace (at most STACK_CHARS, the outermost level only)
and at most CAUSE_DEPTH causes; then message and stack trace move into the failure's encoded attributes,
which the payload codec encrypts (``encode_common_attributes``): the history shows "Encoded failure",
the worker, the client and the codec endpoint decode the text.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverter, PayloadConverter

MESSAGE_CHARS = 300
STACK_CHARS = 1000
CAUSE_DEPTH = 2
ENCODED_MESSAGE = "Encoded failure"


def trimmed_message(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return first if len(first) <= MESSAGE_CHARS else first[: MESSAGE_CHARS - 1] + "…"


def trimmed_stack(stack: str) -> str:
    return stack if len(stack) <= STACK_CHARS else "…" + stack[-(STACK_CHARS - 1) :]


class TrimmedEncodedFailureConverter(DefaultFailureConverter):
    """The default conversion (``_plain``, which recurses over the causes itself), then each level of the
    chain trimmed and its text moved into the encoded attributes. A failure that arrives already encoded
    (re-raised from another workflow or activity) is kept as it is."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=False)
        self._plain = DefaultFailureConverter()

    def to_failure(self, exception: BaseException, payload_converter: PayloadConverter, failure: Any) -> None:
        self._plain.to_failure(exception, payload_converter, failure)
        level: Failure = failure
        for depth in range(CAUSE_DEPTH + 1):
            if not level.HasField("encoded_attributes"):
                message = trimmed_message(level.message)
                stack = trimmed_stack(level.stack_trace) if depth == 0 else ""
                encoded = payload_converter.to_payloads([{"message": message, "stack_trace": stack}])[0]
                level.encoded_attributes.CopyFrom(encoded)
                level.message = ENCODED_MESSAGE
                level.stack_trace = ""
            if not level.HasField("cause"):
                return
            if depth == CAUSE_DEPTH:
                level.ClearField("cause")
                return
            level = level.cause
