"""What a recipe asks for: DSP parameters, the artifact kinds a complete run leaves, whole-signal steps."""

from __future__ import annotations

from apps.processing import dsp
from apps.processing.models import Artifact
from apps.processing.services.artifacts import ArtifactWriter
from apps.processing.services.recipes import FEATURE_GROUPS

# The processed audio's artifact kind (apps.datasets reads it for releases cut from processed audio).
PROCESSED_AUDIO_KIND = "audio"


def feature_params(spec: dict) -> dsp.FeatureParams:
    """The DSP feature parameters a validated recipe spec stands for."""
    f = spec["features"]
    return dsp.FeatureParams(
        sr=spec["target_sample_rate"],
        n_fft=f["n_fft"],
        hop_length=f["hop_length"],
        win_length=f["win_length"],
        n_mels=f["n_mels"],
        fmin=f["fmin"],
        fmax=f["fmax"],
        n_mfcc=f["n_mfcc"],
        mfcc_deltas=f["deltas"],
        tuning=None if f["chroma_tuning"] == "estimate" else f["chroma_tuning"],
        top_db=f["top_db"],
    )


def expected_kinds(spec: dict) -> list[str]:
    """Artifact kinds a complete run of ``spec`` leaves (tiles are represented by their index, written last)."""
    arts = spec["artifacts"]
    kinds = []
    for group in arts:
        if group in FEATURE_GROUPS:
            kinds.append(group)
            if group == "mfcc" and spec["features"]["deltas"]:
                kinds += ["mfcc_delta", "mfcc_delta2"]
        elif group == "previews":
            kinds += ["preview_mel", "preview_spectrogram"]
        elif group == "tiles":
            kinds.append("tiles_index")
        elif group == "processed_audio":
            kinds.append(PROCESSED_AUDIO_KIND)
        else:
            kinds.append(group)
    for i, aug in enumerate(spec["augmentations"]):
        kinds.append(f"mel_specaug_{i}" if aug["kind"] == "spec_augment" else f"audio_aug_{i}")
    return kinds


def whole_signal(spec: dict) -> bool:
    return bool(spec["trim"] or spec["normalise"] or spec["length"]["mode"] != "none" or spec["augmentations"])


def recording_artifacts_complete(*, recording, recipe) -> bool:
    """True when every artifact ``recipe`` asks for exists for the recording's bytes (one query)."""
    return ArtifactWriter(recording=recording, recipe_hash=recipe.spec_hash).has_all(expected_kinds(recipe.spec))


def recordings_missing_artifacts(*, recordings: list, recipe) -> list:
    """The recordings whose artifacts for ``recipe`` are incomplete (one query for all of them)."""
    kinds = set(expected_kinds(recipe.spec))
    have: dict[str, set] = {}
    rows = Artifact.objects.filter(
        recipe_hash=recipe.spec_hash, kind__in=kinds, source_sha256__in={r.sha256 for r in recordings}
    ).values_list("source_sha256", "kind")
    for sha, kind in rows:
        have.setdefault(sha, set()).add(kind)
    return [r for r in recordings if not kinds <= have.get(r.sha256, set())]
