"""Consent writes: records, withdrawal, expiry, retention, purge, audit, subject access."""

from apps.consent.services.audit import audit_record
from apps.consent.services.records import (
    consent_form_create,
    consent_record,
    consents_grant_bulk,
    policy_get,
    policy_set,
    recording_ingest_check,
    speaker_create,
    speaker_enrol,
)
from apps.consent.services.withdrawal import (
    consent_withdraw,
    consents_expire,
    recordings_retention_due,
    speaker_withdraw_everything,
)

__all__ = [
    "audit_record",
    "consent_form_create",
    "consent_record",
    "consents_grant_bulk",
    "policy_get",
    "policy_set",
    "recording_ingest_check",
    "speaker_create",
    "speaker_enrol",
    "consent_withdraw",
    "consents_expire",
    "recordings_retention_due",
    "speaker_withdraw_everything",
]
