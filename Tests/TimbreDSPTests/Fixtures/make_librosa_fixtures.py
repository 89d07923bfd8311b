"""Writes librosa_reference.json: reference values from librosa 0.11 for Timbre's parity tests.

Run once with librosa 0.11 installed (python3 make_librosa_fixtures.py); the tests read the
JSON and need no Python. The test signals are defined here and rebuilt identically in Swift
(TestSignals.swift): computed in float64, stored as float32.
"""
import json

import librosa
import numpy as np

SR = 22050
N = 66150  # 3 s
FRAMES_KEPT = [0, 1, 2, 64, 128, 129]
ROWS_KEPT = [0, 1, 10, 64, 127]


def signals():
    n = np.arange(N, dtype=np.float64)
    t = n / SR
    impulse = np.zeros(N, dtype=np.float64)
    impulse[30000] = 1.0
    sine = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    duration = N / SR
    chirp = 0.25 * np.sin(2 * np.pi * (50.0 * t + (10000.0 - 50.0) * t * t / (2 * duration)))
    return {"impulse": impulse, "sine440": sine, "chirp": chirp}


def as_list(array):
    return [float(v) for v in np.asarray(array, dtype=np.float32).ravel()]


def main():
    assert librosa.__version__.startswith("0.11"), librosa.__version__
    basis = librosa.filters.mel(sr=SR, n_fft=2048, n_mels=128)
    nonzero = [np.flatnonzero(row) for row in basis]
    reference = {
        "librosa_version": librosa.__version__,
        "filterbank": {
            "shape": list(basis.shape),
            "row_sums": as_list(basis.sum(axis=1, dtype=np.float64)),
            "first_bin": [int(nz[0]) for nz in nonzero],
            "last_bin": [int(nz[-1]) for nz in nonzero],
            "rows": {str(r): {"first_bin": int(nonzero[r][0]),
                              "weights": as_list(basis[r, nonzero[r][0]:nonzero[r][-1] + 1])}
                     for r in ROWS_KEPT},
            "mel_frequencies": [float(f) for f in librosa.mel_frequencies(n_mels=130, fmin=0.0, fmax=SR / 2)],
        },
        "frames_kept": FRAMES_KEPT,
        "signals": {},
    }
    for name, y in signals().items():
        y = y.astype(np.float32)
        power = librosa.feature.melspectrogram(y=y, sr=SR)
        db = librosa.power_to_db(power)
        reference["signals"][name] = {
            "frames": int(power.shape[1]),
            "power": {str(f): as_list(power[:, f]) for f in FRAMES_KEPT},
            "db": {str(f): as_list(db[:, f]) for f in FRAMES_KEPT},
            "power_sum": float(power.sum(dtype=np.float64)),
            "db_mean": float(db.mean(dtype=np.float64)),
            "db_max": float(db.max()),
            "db_min": float(db.min()),
        }
    with open("librosa_reference.json", "w") as f:
        json.dump(reference, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
