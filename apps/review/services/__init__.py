"""Review services: automatic QA, the review workflow, gold items, consensus. Cross-app hooks keep their names."""

from .gold import consensus_decide, gold_item_set
from .qa import qa_on_processed, qa_result_accept, qa_settings_get, qa_settings_update
from .transcripts import annotation_transcript_qa, on_transcript_aligned
from .workflow import REVIEW_ORDERS, REVIEW_ROLES, annotation_review, review_next, review_sampled

__all__ = [
    "REVIEW_ORDERS",
    "REVIEW_ROLES",
    "annotation_review",
    "annotation_transcript_qa",
    "consensus_decide",
    "gold_item_set",
    "on_transcript_aligned",
    "qa_on_processed",
    "qa_result_accept",
    "qa_settings_get",
    "qa_settings_update",
    "review_next",
    "review_sampled",
]
