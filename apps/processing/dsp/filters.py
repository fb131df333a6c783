"""Window, mel and chroma filterbanks, in numpy alone, equal to librosa's.

``librosa.filters`` imports ``librosa.util``, which loads numba and its JIT-compiled ufuncs: about two
seconds and ~70 MB for a worker process that otherwise never needs numba (the streamed pipeline computes
its STFT with scipy and numpy). These are the same formulas (librosa 0.11's ``filters.mel`` with Slaney
norm, ``filters.chroma`` with its defaults, ``filters.get_window`` + ``util.pad_center``); tests hold them
equal to librosa's output.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

__all__ = ["chroma_filterbank", "hz_to_mel", "mel_filterbank", "mel_to_hz", "stft_window"]

_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def stft_window(window: str | tuple, win_length: int, n_fft: int) -> np.ndarray:
    """librosa.stft's window: periodic (fftbins), centred inside ``n_fft`` (float64)."""
    w = scipy.signal.get_window(window, win_length, fftbins=True)
    lpad = (n_fft - w.shape[0]) // 2
    if lpad < 0:
        raise ValueError(f"win_length {w.shape[0]} is longer than n_fft {n_fft}")
    return np.pad(w, (lpad, n_fft - w.shape[0] - lpad))


def hz_to_mel(frequencies, htk: bool = False) -> np.ndarray:
    f = np.asarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    mels = f / _F_SP
    return np.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mels)


def mel_to_hz(mels, htk: bool = False) -> np.ndarray:
    m = np.asarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


def mel_filterbank(
    *,
    sr: float,
    n_fft: int,
    n_mels: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    dtype=np.float32,
) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangular filters, Slaney-normalised (librosa.filters.mel's defaults)."""
    fmax = float(sr) / 2 if fmax is None else fmax
    weights = np.zeros((int(n_mels), int(1 + n_fft // 2)), dtype=dtype)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def chroma_filterbank(
    *, sr: float, n_fft: int, n_chroma: int = 12, tuning: float = 0.0, dtype=np.float32
) -> np.ndarray:
    """(n_chroma, 1 + n_fft // 2): librosa.filters.chroma with its defaults (L2 columns, octwidth 2, base C)."""
    ctroct, octwidth = 5.0, 2
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (a440 / 16))
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    D = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    n_chroma2 = np.round(float(n_chroma) / 2)
    D = np.remainder(D + n_chroma2 + 10 * n_chroma, n_chroma) - n_chroma2
    wts = np.exp(-0.5 * (2 * D / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    # util.normalize(norm=2, axis=0): columns whose norm is below tiny are left as they are.
    norms = np.sqrt(np.sum(np.abs(wts) ** 2, axis=0, keepdims=True))
    norms[norms < np.finfo(wts.dtype).tiny] = 1.0
    wts = wts / norms
    wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - ctroct) / octwidth) ** 2)), (n_chroma, 1))
    wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    return np.ascontiguousarray(wts[:, : int(1 + n_fft / 2)], dtype=dtype)
