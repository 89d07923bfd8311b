"""Separation speed, side by side in one run on the same files:

- `timbre separate` against Open-Unmix's network (the `openunmix` package, its UMX-HQ
  architecture with random weights: the speed is the same as with trained ones) on PyTorch's
  CPU backend, on one stereo 44.1-kHz file;
- training throughput of Chandna et al.'s network: `timbre train-separator --arch chandna`
  (mixtures made on the fly from rendered songs) against the same network in PyTorch fed
  ready-made random tensors.

    python bench/bench_separate.py --timbre .build/release/timbre --work .bench/separate
"""
import argparse, os, re, shutil, subprocess, time

import numpy as np
import soundfile as sf
import torch


def render(timbre, work):
    songs = os.path.join(work, "songs")
    if not os.path.isdir(os.path.join(songs, "MedleyDB")):
        subprocess.run([timbre, "synth", "-o", songs, "--takes-per-class", "0", "--songs", "12", "--song-seconds", "30",
                        "--song-voice-share", "0.5"], check=True, capture_output=True)
    return songs


def long_mix(songs, work, seconds):
    """The songs' mixes end to end, as one stereo file of `seconds`."""
    path = os.path.join(work, "mix.wav")
    parts, rate = [], 44100
    for song in sorted(os.listdir(os.path.join(songs, "MedleyDB"))):
        audio, rate = sf.read(os.path.join(songs, "MedleyDB", song, f"{song}_MIX.wav"), always_2d=True, dtype="float32")
        parts.append(audio)
    audio = np.concatenate(parts)
    audio = np.tile(audio, (int(np.ceil(seconds * rate / len(audio))), 1))[: int(seconds * rate)]
    sf.write(path, audio, rate, subtype="FLOAT")
    return path, audio, rate


def timbre_separate(timbre, path, work, model):
    out = os.path.join(work, "stems")
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([timbre, "separate", path, "-o", out] + (["--model", model] if model else []), check=True, capture_output=True)
    return time.perf_counter() - start


def openunmix_separate(audio, rate):
    from openunmix import model as umx
    targets = {}
    for name in ["vocals", "drums", "bass", "other"]:
        net = umx.OpenUnmix(nb_bins=4096 // 2 + 1, nb_channels=2, hidden_size=512, max_bin=1487)
        targets[name] = net.eval()
    separator = umx.Separator(target_models=targets, niter=1, residual=False, n_fft=4096, n_hop=1024, sample_rate=rate).eval()
    waveform = torch.from_numpy(audio.T.copy())[None]
    start = time.perf_counter()
    with torch.no_grad():
        separator(waveform)
    return time.perf_counter() - start


class Chandna(torch.nn.Module):
    """Chandna et al.'s network as timbre builds it (SeparatorArchitecture.chandna)."""

    def __init__(self, frames=30, bins=513, stems=4):
        super().__init__()
        width = frames - 12 + 1
        self.vertical = torch.nn.Conv2d(1, 50, (1, bins))
        self.horizontal = torch.nn.Conv2d(50, 30, (12, 1))
        self.bottleneck = torch.nn.Linear(30 * width, 128)
        self.decoders = torch.nn.ModuleList()
        for _ in range(stems):
            self.decoders.append(torch.nn.ModuleDict({
                "dense": torch.nn.Linear(128, 30 * width),
                "horizontal": torch.nn.ConvTranspose2d(30, 50, (12, 1)),
                "vertical": torch.nn.ConvTranspose2d(50, 1, (1, bins)),
            }))
        self.width = width

    def forward(self, x):
        h = self.horizontal(self.vertical(x))
        z = torch.relu(self.bottleneck(h.flatten(1)))
        outs = []
        for d in self.decoders:
            y = torch.relu(d["dense"](z)).view(-1, 30, self.width, 1)
            outs.append(d["vertical"](torch.relu(d["horizontal"](y))))
        a = torch.sigmoid(torch.cat(outs, 1)) + 1e-6
        return a / a.sum(1, keepdim=True)


def torch_chandna_training(batches, batch_size=16):
    net = Chandna()
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(batch_size, 1, 30, 513)
    mix = torch.rand(batch_size, 1, 30, 513)
    target = torch.rand(batch_size, 4, 30, 513)
    for step in range(batches + 5):
        if step == 5:
            start = time.perf_counter()
        optimiser.zero_grad()
        loss = ((net(x) * mix - target) ** 2).mean()
        loss.backward()
        optimiser.step()
    return batches * batch_size / (time.perf_counter() - start)


def timbre_chandna_training(timbre, songs, work, batches):
    out = subprocess.run([timbre, "train-separator", os.path.join(songs, "MedleyDB"), "-o", os.path.join(work, "chandna.h5"),
                          "--arch", "chandna", "--epochs", "1", "--batches-per-epoch", str(batches), "--batch-size", "16"],
                         check=True, capture_output=True, text=True)
    return float(re.search(r"([0-9.]+) examples/s", out.stdout).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timbre", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--model", help="separator model (default: the bundled one)")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--batches", type=int, default=60)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(os.cpu_count())
    songs = render(args.timbre, args.work)
    path, audio, rate = long_mix(songs, args.work, args.seconds)

    print(f"\nChandna network training, batches of 16 chunks of 30 frames × 513 bins, {os.cpu_count()} cores")
    ours = timbre_chandna_training(args.timbre, songs, args.work, args.batches)
    theirs = torch_chandna_training(args.batches)
    print(f"{'':52}{'examples/s':>11}")
    print(f"{'timbre train-separator (mixing on the fly included)':52}{ours:11.1f}")
    print(f"{'PyTorch, same network, ready-made tensors':52}{theirs:11.1f}")

    # The network just trained times the Chandna family (speed does not depend on its weights).
    print(f"\nseparation of one {args.seconds:.0f}-s stereo {rate}-Hz file into 4 stems")
    rows = [("timbre separate, bundled separator", timbre_separate(args.timbre, path, args.work, args.model)),
            ("timbre separate, Chandna network", timbre_separate(args.timbre, path, args.work, os.path.join(args.work, "chandna.h5"))),
            ("Open-Unmix UMX-HQ, PyTorch CPU", openunmix_separate(audio, rate))]
    print(f"{'':36}{'seconds':>9}{'× real time':>13}")
    for name, seconds in rows:
        print(f"{name:36}{seconds:9.1f}{args.seconds / seconds:13.1f}")


if __name__ == "__main__":
    main()
