"""Writes museval_reference.json: BSSEval v4 scores computed by museval 0.4.1 on small
synthetic stereo tracks, the known answers of the separation-metric tests.

The signals are defined by formulas that the Swift tests rebuild exactly (a 64-bit linear
congruential generator and sines): 2 sources, 2 channels, 28,000 samples at 8 kHz, scored
in 1-s windows (8,000 samples, hop 8,000) with 512-tap filters, museval's v4 mode; and
one case of 3 mono sources with windows overlapping by half.

    python3 make_museval_fixtures.py > museval_reference.json
"""
import importlib.metadata
import importlib.util
import json
import math
import os

import numpy as np


def museval_metrics():
    """museval.metrics alone: the package's __init__ imports musdb, which needs ffmpeg."""
    package = importlib.util.find_spec("museval").submodule_search_locations[0]
    spec = importlib.util.spec_from_file_location("museval_metrics", os.path.join(package, "metrics.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


metrics = museval_metrics()

N, RATE, WINDOW = 28000, 8000, 8000


def noise(count, seed):
    state, out = seed, np.empty(count)
    for i in range(count):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out[i] = (state >> 11) / float(1 << 53) * 2 - 1
    return out


def sources():
    t = np.arange(N)
    tone = [0.5 * np.sin(2 * math.pi * 220 * t / RATE + c) * (0.6 + 0.4 * np.sin(2 * math.pi * 0.7 * t / RATE))
            + 0.05 * noise(N, 1 + c) for c in range(2)]
    rumble = []
    for c in range(2):
        x, y, previous = noise(N, 11 + c), np.empty(N), 0.0
        for i in range(N):
            previous = 0.9 * previous + 0.3 * x[i]
            y[i] = previous
        rumble.append(y)
    return np.array([np.stack(tone, axis=1), np.stack(rumble, axis=1)])  # (source, sample, channel)


def cases():
    refs = sources()
    mixture = refs.sum(axis=0)
    delayed = np.zeros_like(refs)
    delayed[:, 10:, :] = refs[:, :-10, :]
    noisy = np.array([refs[j] + 0.1 * np.stack([noise(N, 21 + 2 * j + c) for c in range(2)], axis=1) for j in range(2)])
    silent_refs = refs.copy()
    silent_refs[1, 8000:16000, :] = 0
    silent_est = np.array([silent_refs[j] + 0.05 * np.stack([noise(N, 31 + 2 * j + c) for c in range(2)], axis=1) for j in range(2)])
    # Three mono sources, windows overlapping by half: the tone's left channel, the rumble's
    # right, and a clipped sine; each estimate leaks the next source in.
    t = np.arange(N)
    three = np.array([refs[0][:, :1], refs[1][:, 1:], np.clip(0.8 * np.sin(2 * math.pi * 97 * t / RATE), -0.5, 0.5)[:, None]])
    leaky = np.array([three[j] + 0.2 * three[(j + 1) % 3] for j in range(3)])
    return {
        "three_mono_overlapping": (three, leaky),
        "mixture": (refs, np.array([mixture, mixture])),
        "half": (refs, 0.5 * refs),
        "delay": (refs, delayed),
        "noise": (refs, noisy),
        "silent_window": (silent_refs, silent_est),
    }


def encode(value):
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def main():
    result = {"museval_version": importlib.metadata.version("museval"),
              "samples": N, "window": WINDOW, "hop": WINDOW, "filters_len": 512, "cases": {}}
    for name, (refs, ests) in cases().items():
        hop = WINDOW // 2 if name == "three_mono_overlapping" else WINDOW
        sdr, isr, sir, sar, _ = metrics.bss_eval(refs, ests, window=WINDOW, hop=hop, compute_permutation=False,
                                                 filters_len=512, framewise_filters=False, bsseval_sources_version=False)
        result["cases"][name] = {key: [[encode(v) for v in row] for row in values.tolist()]
                                 for key, values in (("SDR", sdr), ("ISR", isr), ("SIR", sir), ("SAR", sar))}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
