"""earmark-client: pull, stream and sync Earmark dataset releases, and verify Earmark webhooks."""

from earmark_client.api import Client, EarmarkError, RemoteFile
from earmark_client.pull import PullResult, pull, verify
from earmark_client.stream import iter_shard
from earmark_client.sync import SyncResult, sync
from earmark_client.webhooks import WebhookVerificationError, verify_request, verify_signature

__all__ = [
    "Client",
    "EarmarkError",
    "PullResult",
    "RemoteFile",
    "SyncResult",
    "WebhookVerificationError",
    "iter_shard",
    "pull",
    "sync",
    "verify",
    "verify_request",
    "verify_signature",
]
__version__ = "0.1.0"
