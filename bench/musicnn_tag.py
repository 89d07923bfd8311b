"""musicnn's MagnaTagATune tagger over files: the taggram (one row of 50 tag probabilities
per 3-s window, non-overlapping) of each file, as one JSON object on the last line, with
the time spent after start-up and the first file (TensorFlow's graph building). Its input
features are computed without musicnn's float16 overflow (`batch_data_without_overflow`)."""
import json
import sys
import time

import librosa
import numpy as np
import soundfile as sf
from musicnn import configuration, extractor as musicnn_extractor
from musicnn.extractor import extractor


def batch_data_without_overflow(audio_file, n_frames, overlap):
    """musicnn's input, computed so that loud audio stays finite.

    musicnn rounds the mel power to float16 and then takes log10(10000 x + 1) in float16,
    which overflows to infinity wherever the mel power exceeds 6.55 (loud low notes, drums):
    such windows come out as NaN. Here the same rounding is kept but the logarithm is taken
    in float32. Returns the patches of `n_frames` frames every `overlap` frames and the whole
    representation, as musicnn's `batch_data` does."""
    audio, rate = librosa.load(audio_file, sr=configuration.SR)
    mel = librosa.feature.melspectrogram(y=audio, sr=rate, hop_length=configuration.FFT_HOP,
                                         n_fft=configuration.FFT_SIZE, n_mels=configuration.N_MELS).T
    representation = np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1)
    starts = range(0, representation.shape[0] - n_frames + 1, overlap)
    return np.stack([representation[s:s + n_frames] for s in starts]), representation


musicnn_extractor.batch_data = batch_data_without_overflow


def main():
    files = sys.argv[1:]
    result = {"taggrams": {}}
    warm_start, audio_warm = None, 0.0
    for index, path in enumerate(files):
        taggram, tags = extractor(path, model="MTT_musicnn", input_length=3, input_overlap=False, extract_features=False)
        result["tags"] = list(tags)
        result["taggrams"][path] = taggram.tolist()
        if index == 0:
            warm_start = time.perf_counter()
        else:
            audio_warm += sf.info(path).duration
    result["seconds_warm"] = time.perf_counter() - warm_start if warm_start else 0
    result["audio_warm"] = audio_warm
    print(json.dumps(result))


if __name__ == "__main__":
    main()
