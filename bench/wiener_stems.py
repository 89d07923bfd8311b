"""A multichannel Wiener filter over `timbre separate`'s stems, to measure whether the
post-processing Open-Unmix applies (one expectation-maximisation step of Duong et al.'s
spatial model) would lift the SDR of timbre's mask-based stems.

For every stem j, from its estimated STFT y_j (channels × bins × frames):
  v_j(f,t) = mean over channels of |y_j|²          (its power)
  R_j(f)   = Σ_t y_j y_jᴴ / Σ_t v_j                 (its spatial covariance, per frequency)
  W_j(f,t) = v_j R_j (Σ_k v_k R_k + εI)⁻¹           (its Wiener gain)
and the new stem is W_j x, with x the mixture's STFT. The gains sum to the identity, so
the new stems still add up to the mix. The STFT is the bundled separator's at 44.1 kHz
(2048 points, hop 512, Hann).

    python bench/wiener_stems.py ESTIMATES MUSDB OUT [--iterations 1]

ESTIMATES holds `timbre separate --format float` output (SONG/<stem>.wav), MUSDB the songs'
`mixture.wav`s (SONG/mixture.wav); OUT gets the filtered stems in ESTIMATES' layout, for
`timbre evaluate-separation OUT MUSDB`.
"""
import argparse, os

import numpy as np
import soundfile as sf
from scipy.signal import istft, stft

STEMS = ["vocals", "drums", "bass", "other"]
FFT, HOP = 2048, 512


def spectrum(audio):
    """STFT of (samples × channels) audio as channels × bins × frames."""
    return stft(audio.T, nperseg=FFT, noverlap=FFT - HOP, window="hann")[2]


def wiener_step(stems, mix, epsilon=1e-10):
    """One EM step: new stems (S × C × F × T) from the current ones and the mix (C × F × T)."""
    channels = mix.shape[0]
    power = np.mean(np.abs(stems) ** 2, axis=1)                       # S × F × T
    outer = np.einsum("scft,sdft->sfcd", stems, stems.conj())          # S × F × C × C
    covariance = outer / (power.sum(axis=2)[..., None, None] + epsilon)
    # Σ_k v_k R_k at every (f, t): F × T × C × C.
    model = np.einsum("sft,sfcd->sftcd", power, covariance)
    total = model.sum(axis=0) + epsilon * np.eye(channels)
    inverse = np.linalg.inv(total)
    gains = np.einsum("sftcd,ftde->sftce", model, inverse)             # S × F × T × C × C
    return np.einsum("sftce,eft->scft", gains, mix)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("estimates")
    parser.add_argument("musdb")
    parser.add_argument("out")
    parser.add_argument("--iterations", type=int, default=1)
    args = parser.parse_args()
    for song in sorted(os.listdir(args.estimates)):
        mixture, rate = sf.read(os.path.join(args.musdb, song, "mixture.wav"), dtype="float64", always_2d=True)
        mix = spectrum(mixture)
        stems = np.stack([spectrum(sf.read(os.path.join(args.estimates, song, f"{s}.wav"), dtype="float64", always_2d=True)[0])
                          for s in STEMS])
        for _ in range(args.iterations):
            stems = wiener_step(stems, mix)
        os.makedirs(os.path.join(args.out, song), exist_ok=True)
        for s, spectrum_of_stem in zip(STEMS, stems):
            audio = istft(spectrum_of_stem, nperseg=FFT, noverlap=FFT - HOP, window="hann")[1].T[:len(mixture)]
            sf.write(os.path.join(args.out, song, f"{s}.wav"), audio.astype(np.float32), rate, subtype="FLOAT")
        print(song, flush=True)


if __name__ == "__main__":
    main()
