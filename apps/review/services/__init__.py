"""Review services: automatic QA, the review workflow, gold items. Cross-app hooks keep their names."""

from .qa import qa_on_processed, qa_result_accept, qa_settings_get, qa_settings_update

__all__ = ["qa_on_processed", "qa_result_accept", "qa_settings_get", "qa_settings_update"]
