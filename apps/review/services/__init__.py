"""Review services: automatic QA, the review workflow, gold items, consensus. Cross-app hooks keep their names."""

from .gold import consensus_decide, gold_item_set
from .qa import qa_on_processed, qa_result_accept, qa_settings_get, qa_settings_update
from .workflow import REVIEW_ROLES, annotation_review, review_next, review_sampled

__all__ = [
    "REVIEW_ROLES",
    "annotation_review",
    "consensus_decide",
    "gold_item_set",
    "qa_on_processed",
    "qa_result_accept",
    "qa_settings_get",
    "qa_settings_update",
    "review_next",
    "review_sampled",
]
