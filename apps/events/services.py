"""Webhook services: register endpoints (URL rules), queue signed deliveries, make one attempt.

A delivery is a POST of a small JSON body that names ids only (recordings, releases, imports, models) and
never personal data: no names, e-mails, speaker codes, transcripts or file names. It is signed with the
endpoint's secret — ``Earmark-Signature: v1=HEX(HMAC-SHA256(secret, f"{timestamp}.".encode() + body))`` with
``Earmark-Timestamp`` the Unix time of the attempt — so a receiver can check it came from here and refuse old
timestamps (replays). Failed attempts are retried with exponential backoff on the `events` queue.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.catalog.models import Project
from apps.consent.services import audit_record
from apps.core.errors import DomainError
from apps.events.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from apps.events.tasks import webhook_deliver_task

RESPONSE_KEEP = 2000  # characters of a receiver's response kept for the deliveries page
USER_AGENT = "Earmark-Webhooks/1"


def _allow_list() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names, nets = set(), []
    for entry in settings.EARMARK_WEBHOOK_ALLOW_HOSTS:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return names, nets


def webhook_url_check(url: str) -> str:
    """Return ``url`` if webhooks may be sent there now, else raise a 400 sentence.

    http(s) only, no credentials in the URL, and every address the host resolves to must be public unless
    EARMARK_WEBHOOK_ALLOW_HOSTS names the host or a network holding the address: so the server cannot be made
    to call its own loopback, link-local (cloud metadata at 169.254.169.254) or private network.
    """
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https"):
        raise DomainError("A webhook URL must start with http:// or https://.")
    if not parts.hostname or parts.username or parts.password:
        raise DomainError("A webhook URL needs a host name and must not carry a user name or password.")
    host = parts.hostname.lower().rstrip(".")
    names, nets = _allow_list()
    if host in names:
        return url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise DomainError(f"The webhook host {host} does not resolve to an address.") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global and not any(address in net for net in nets):
            raise DomainError(
                f"The webhook host {host} resolves to {address}, a loopback, private, link-local or "
                "otherwise non-public address; Earmark does not send webhooks there unless the site "
                "setting EARMARK_WEBHOOK_ALLOW_HOSTS allows it."
            )
    return url


def webhook_endpoint_create(
    *, actor, project_id: int, url: str, events: list[str], description: str = ""
) -> WebhookEndpoint:
    """Register an endpoint (URL checked, secret generated); audit event. The caller shows the secret once."""
    unknown = sorted(set(events) - set(Event.values))
    if not events or unknown:
        raise DomainError(
            f"Choose events from {', '.join(Event.values)}"
            + (f"; {', '.join(unknown)} is not one." if unknown else ".")
        )
    webhook_url_check(url)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            project_id=project_id,
            url=url,
            events=sorted(set(events)),
            description=description[:200],
            secret=secrets.token_hex(32),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action="webhook.create",
            object_type="webhook",
            object_id=endpoint.id,
            project_id=project_id,
            data={"events": endpoint.events},
        )
    return endpoint


def webhook_endpoint_delete(*, actor, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint and its delivery history; audit event."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="webhook.delete",
            object_type="webhook",
            object_id=endpoint.id,
            project_id=endpoint.project_id,
            data={},
        )
        endpoint.delete()


def event_emit(*, project_id: int, event: str, data: dict[str, Any]) -> int:
    """Queue one delivery of ``event`` per subscribed endpoint of the project (sent after commit); returns how many.

    ``data`` must hold ids and enums only: it goes out as is.
    """
    endpoints = [e for e in WebhookEndpoint.objects.filter(project_id=project_id, active=True) if event in e.events]
    created = []
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, body="")
        body = {
            "id": delivery.id,
            "event": event,
            "project_id": project_id,
            "created_at": delivery.created_at.isoformat(),
            "data": data,
        }
        WebhookDelivery.objects.filter(id=delivery.id).update(body=json.dumps(body, sort_keys=True))
        created.append(delivery.id)
    for delivery_id in created:
        transaction.on_commit(functools.partial(webhook_deliver_task.delay, delivery_id))
    return len(created)


def events_for_recordings(*, recording_ids: list[int], event: str, data: dict[str, Any]) -> int:
    """event_emit once per project that holds some of ``recording_ids``, with that project's ids under data."""
    pairs = Project.objects.filter(recordings__id__in=recording_ids).values_list("id", "recordings__id")
    by_project: dict[int, list[int]] = {}
    for project_id, recording_id in pairs:
        by_project.setdefault(project_id, []).append(recording_id)
    return sum(
        event_emit(project_id=p, event=event, data={**data, "recording_ids": sorted(ids)})
        for p, ids in sorted(by_project.items())
    )


def webhook_sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Earmark-Signature header value (the client's earmark_client.webhooks.sign computes the same)."""
    return "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    retry_in: float | None  # seconds until the next attempt; None = no more attempts


def _backoff(attempts: int) -> float:
    return min(float(settings.EARMARK_WEBHOOK_RETRY_BASE_SECONDS) * 2 ** (attempts - 1), 6 * 3600.0)


def webhook_delivery_send(*, delivery_id: int) -> Attempt:
    """Make one attempt at a delivery: re-check the URL's addresses, POST signed, record the response.

    Returns whether it was delivered and, if not, when to try again (exponential backoff up to
    EARMARK_WEBHOOK_MAX_ATTEMPTS attempts; a URL no longer allowed fails at once, with no request made).
    """
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(id=delivery_id).first()
    if delivery is None or delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        return Attempt(delivery is not None and delivery.status == DeliveryStatus.DELIVERED, None)
    endpoint, now = delivery.endpoint, timezone.now()
    attempts = delivery.attempts + 1
    entry: dict[str, Any] = {"at": now.isoformat(), "attempt": attempts}
    status_code, text, error = None, "", ""
    try:
        webhook_url_check(endpoint.url)  # again at delivery time: DNS may have changed since registration
    except DomainError as exc:
        error = f"Not sent: {exc.message}"
    if not error:
        body = delivery.body.encode()
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Earmark-Event": delivery.event,
            "Earmark-Delivery": str(delivery.id),
            "Earmark-Timestamp": str(stamp),
            "Earmark-Signature": webhook_sign(endpoint.secret, stamp, body),
        }
        try:
            # No redirects: a redirect could point at an address the check above refuses.
            response = requests.post(
                endpoint.url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=settings.EARMARK_WEBHOOK_TIMEOUT_SECONDS,
            )
            status_code, text = response.status_code, response.text[:RESPONSE_KEEP]
        except requests.RequestException as exc:
            error = f"No response: {exc.__class__.__name__}"
    delivered = status_code is not None and 200 <= status_code < 300
    entry.update({"status": status_code, "error": error})
    refused = error.startswith("Not sent")
    retry_in = None if delivered or refused or attempts >= settings.EARMARK_WEBHOOK_MAX_ATTEMPTS else _backoff(attempts)
    status = DeliveryStatus.DELIVERED if delivered else (DeliveryStatus.RETRYING if retry_in else DeliveryStatus.FAILED)
    WebhookDelivery.objects.filter(id=delivery.id).update(
        attempts=attempts,
        response_status=status_code,
        response_body=text,
        error=error,
        log=[*delivery.log, entry],
        status=status,
        delivered_at=now if delivered else None,
        next_attempt_at=now + timedelta(seconds=retry_in) if retry_in else None,
    )
    return Attempt(delivered, retry_in)


def deliveries_requeue_stale(*, grace_seconds: float = 600.0) -> int:
    """Send again deliveries whose next attempt is overdue by ``grace_seconds`` (their broker message was lost,
    e.g. a worker died holding it); returns how many. Receivers drop duplicates by Earmark-Delivery."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    stale = WebhookDelivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]).filter(
        Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, created_at__lt=cutoff)
    )
    ids = list(stale.order_by("id").values_list("id", flat=True)[:1000])
    for delivery_id in ids:
        webhook_deliver_task.delay(delivery_id)
    return len(ids)
