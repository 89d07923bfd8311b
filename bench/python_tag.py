"""The Python path for tagging: librosa 0.11 features + the same CNN in Keras 3, per file.

For each file: librosa.load (22,050 Hz mono), 3-s windows every 3 s (a final partial
window of at least 1.5 s zero-padded), windows under -50 dBFS skipped, log-mel with
librosa's defaults, Keras predict in batches of 32, mean of the window probabilities.
The weights are random: this measures speed, not accuracy.

  python_tag.py FILE... prints one JSON line: {"seconds_audio", "seconds_total", "seconds_warm"}
"""
import json
import os
import sys
import time

START = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import librosa  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_cnn import build  # noqa: E402

SR, WINDOW, MIN_LAST = 22050, 66150, 33075


def tag(path, model):
    y, _ = librosa.load(path, sr=SR, mono=True)
    mels = []
    for start in range(0, max(1, len(y)), WINDOW):
        window = y[start:start + WINDOW]
        if len(window) < WINDOW:
            if len(window) < MIN_LAST and start > 0:
                break
            window = np.pad(window, (0, WINDOW - len(window)))
        if 20 * np.log10(np.sqrt(np.mean(window ** 2)) + 1e-12) < -50:
            continue
        mel = librosa.feature.melspectrogram(y=window, sr=SR)
        mels.append(librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0))
    if not mels:
        return len(y) / SR, None
    probabilities = model.predict(np.stack(mels)[..., None], batch_size=32, verbose=0)
    return len(y) / SR, probabilities.mean(axis=0)


def main():
    files = sys.argv[1:]
    model = build(13)
    audio = 0.0
    warm_start = None
    for index, path in enumerate(files):
        seconds, _ = tag(path, model)
        audio += seconds
        if index == 0:
            warm_start, warm_audio = time.perf_counter(), audio
    end = time.perf_counter()
    print(json.dumps({
        "seconds_audio": audio, "seconds_total": end - START,
        "seconds_warm": end - warm_start, "audio_warm": audio - warm_audio,
    }))


if __name__ == "__main__":
    main()
