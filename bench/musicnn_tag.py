"""musicnn's MagnaTagATune tagger over files: the taggram (one row of 50 tag probabilities
per 3-s window, non-overlapping) of each file, as one JSON object on the last line, with
the time spent after start-up and the first file (TensorFlow's graph building)."""
import json
import sys
import time

import soundfile as sf
from musicnn.extractor import extractor


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
