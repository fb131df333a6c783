"""Collection writes: campaigns and prompts, contributors joining with consent, clips, votes, voiding."""

from apps.collection.services.campaigns import campaign_create, invites_create, listener_admit, prompts_import
from apps.collection.services.contribute import clip_upload, contributor_join, contributor_void
from apps.collection.services.validation import clip_review_decide, vote_cast

__all__ = [
    "campaign_create",
    "clip_review_decide",
    "clip_upload",
    "contributor_join",
    "contributor_void",
    "invites_create",
    "listener_admit",
    "prompts_import",
    "vote_cast",
]
