"""The data card does not call speakerless recordings "no voice data": nothing has checked them for speech."""

from apps.datasets.formats.card import render_data_card


def test_card_does_not_promise_no_voice_for_speakerless_recordings():
    card = render_data_card({"consent_purposes": ["store", "train_models"], "splits": {}})
    assert "no voice data" not in card
    assert "may contain voices" in card
