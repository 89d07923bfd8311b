"""The reference: Timbre's instrument CNN in Keras 3 on TensorFlow-CPU.

Same network as `timbre train`: per-clip standardisation; four blocks of 3x3 convolution
(64 filters, 'same', ReLU, he_normal) and 2x2 max-pooling, dropout 0.5 after blocks 2-4;
dense 256 ReLU (he_normal) + dropout 0.5; dense softmax (glorot_uniform); Adam
(lr 1e-4, epsilon 1e-7); sparse categorical cross-entropy; class-balanced epochs.
Channels-last, because TensorFlow's CPU convolutions support only that layout.

  keras_cnn.py throughput [--classes 13] [--batch 32] [--seconds 20]
      prints JSON lines {"what": "train"|"infer", "clips_per_second"}
  keras_cnn.py train TRAIN.h5 VALIDATION.h5 [--epochs 10] [--batch 32] [--seed 1] [--lr 1e-4]
      prints one JSON line per epoch with validation loss and accuracy
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers, ops  # noqa: E402


class Standardize(layers.Layer):
    """Zero mean, unit variance per item (epsilon 1e-5), as Timbre's first layer."""

    def call(self, x):
        mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
        var = ops.var(x, axis=(1, 2, 3), keepdims=True)
        return (x - mean) / ops.sqrt(var + 1e-5)


def build(classes, mels=128, frames=130, filters=64, hidden=256, lr=1e-4):
    inputs = keras.Input((mels, frames, 1))
    x = Standardize()(inputs)
    for block in range(1, 5):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
        x = layers.MaxPooling2D(2)(x)
        if block >= 2:
            x = layers.Dropout(0.5)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(hidden, activation="relu", kernel_initializer="he_normal")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr, epsilon=1e-7),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def throughput(args):
    model = build(args.classes)
    rng = np.random.default_rng(0)
    x = rng.uniform(-80, 0, (args.batch, 128, 130, 1)).astype(np.float32)
    y = np.arange(args.batch) % args.classes
    model.train_on_batch(x, y)  # build and warm up
    steps, start = 0, time.perf_counter()
    while steps < 3 or time.perf_counter() - start < args.seconds / 2:
        model.train_on_batch(x, y)
        steps += 1
    print(json.dumps({"what": "train", "batch": args.batch, "clips_per_second": steps * args.batch / (time.perf_counter() - start)}))
    model.predict_on_batch(x)
    runs, start = 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < args.seconds / 2:
        model.predict_on_batch(x)
        runs += 1
    print(json.dumps({"what": "infer", "batch": args.batch, "clips_per_second": runs * args.batch / (time.perf_counter() - start)}))


def load(path):
    with h5py.File(path, "r") as f:
        x = f["mel"][:][..., np.newaxis]
        y = f["label"][:]
        classes = len(f.attrs["class_codes"])
    keep = y >= 0
    return x[keep], y[keep], classes


def balanced_order(labels, rng):
    """Every class equally often, as many draws as clips, smaller classes revisited."""
    by_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    positions = [0] * len(by_class)
    order = []
    c = 0
    while len(order) < len(labels):
        if positions[c] == len(by_class[c]):
            by_class[c] = rng.permutation(by_class[c])
            positions[c] = 0
        order.append(by_class[c][positions[c]])
        positions[c] += 1
        c = (c + 1) % len(by_class)
    return rng.permutation(np.array(order))


def train(args):
    keras.utils.set_random_seed(args.seed)
    x, y, classes = load(args.train)
    vx, vy, _ = load(args.validation)
    model = build(classes, mels=x.shape[1], frames=x.shape[2], lr=args.lr)
    rng = np.random.default_rng(args.seed)
    for epoch in range(args.epochs):
        order = balanced_order(y, rng)
        start = time.perf_counter()
        for i in range(0, len(order), args.batch):
            batch = order[i:i + args.batch]
            model.train_on_batch(x[batch], y[batch])
        seconds = time.perf_counter() - start
        loss, accuracy = model.evaluate(vx, vy, batch_size=args.batch, verbose=0)
        print(json.dumps({"epoch": epoch + 1, "validation_loss": loss, "validation_accuracy": accuracy,
                          "clips_per_second": len(order) / seconds}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--classes", type=int, default=13)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--seconds", type=float, default=20)
    r = sub.add_parser("train")
    r.add_argument("train")
    r.add_argument("validation")
    r.add_argument("--epochs", type=int, default=10)
    r.add_argument("--batch", type=int, default=32)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--lr", type=float, default=1e-4)
    args = parser.parse_args()
    throughput(args) if args.mode == "throughput" else train(args)


if __name__ == "__main__":
    sys.exit(main())
