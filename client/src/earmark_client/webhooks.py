"""Verify an Earmark webhook delivery: HMAC-SHA256 over "TIMESTAMP.BODY" with the endpoint's secret.

Every delivery carries ``Earmark-Timestamp`` (Unix seconds when it was signed) and ``Earmark-Signature``
(``v1=`` and the hex HMAC-SHA256 of ``f"{timestamp}.".encode() + raw_body`` keyed with the endpoint's
secret). Check the signature over the raw bytes you received (before parsing JSON), compare in constant
time, and refuse timestamps older (or newer) than a few minutes: a captured delivery replayed later then
fails, because its timestamp is signed too.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "Earmark-Timestamp"
SIGNATURE_HEADER = "Earmark-Signature"
DEFAULT_TOLERANCE = 300


class WebhookVerificationError(Exception):
    """The delivery is not from Earmark, was altered, or is a replay; answer it with 400 and drop it."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``Earmark-Signature`` value for ``body`` sent at ``timestamp`` (what the server computes)."""
    mac = hmac.new(secret.encode(), f"{int(timestamp)}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str | int | None,
    signature: str | None,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise WebhookVerificationError unless ``signature`` signs ``body`` at ``timestamp`` within ``tolerance`` s."""
    if not timestamp or not signature:
        raise WebhookVerificationError("The delivery has no Earmark-Timestamp or Earmark-Signature header.")
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        raise WebhookVerificationError("The Earmark-Timestamp header is not a Unix time in seconds.") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookVerificationError(
            f"The delivery was signed {int(current - ts)} s ago, outside the "
            f"{tolerance} s window: refused as a possible replay."
        )
    expected = sign(secret, ts, body)
    candidates = [s.strip() for s in signature.split(",")]  # several during a secret rotation
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookVerificationError("The signature does not match this body and secret.")


def verify_request(secret: str, headers: Mapping[str, str], body: bytes, **kwargs: float) -> None:
    """verify_signature with the two headers taken from ``headers`` (any mapping; case-insensitive lookup)."""
    lower = {k.lower(): v for k, v in headers.items()}
    verify_signature(secret, body, lower.get(TIMESTAMP_HEADER.lower()), lower.get(SIGNATURE_HEADER.lower()), **kwargs)  # type: ignore[arg-type]
