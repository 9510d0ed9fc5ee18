"""Time per photo of several weights files, in one run on one machine: the network call of colorizing
(Colorizer.predict_ab through the backend the command line picks), batches of photos at their render size.

    python -m tools.weights_speed weights/colorizer_averaged.pt weights/colorizer_people.pt

Prints ms per photo for each and its ratio to the first. The first call of each (ONNX export, warm-up)
is not timed; runs of the files alternate so that a busy moment falls on all of them.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from colorizer.images import list_photos, open_photo
from colorizer.infer import Colorizer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="+")
    ap.add_argument("--photos", default="examples/bw", help="photos whose shapes are used (default %(default)s)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    a = ap.parse_args(argv)
    models = [Colorizer.load(w, backend=a.backend) for w in a.weights]
    photo = open_photo(list_photos(a.photos)[0])
    batch = np.concatenate([models[0].prepare(photo)[1]] * a.batch)
    for m in models:
        m.predict_ab(batch)  # warm-up (and the ONNX export, once)
    times = {w: [] for w in a.weights}
    for _ in range(a.reps):
        for w, m in zip(a.weights, models):
            t = time.perf_counter()
            m.predict_ab(batch)
            times[w].append((time.perf_counter() - t) / a.batch * 1000)
    base = np.median(times[a.weights[0]])
    print(f"{models[0].backend}, batches of {a.batch} at {batch.shape[2]}x{batch.shape[3]}, median of {a.reps}:")
    for w in a.weights:
        ms = np.median(times[w])
        print(f"  {w}: {ms:.1f} ms a photo ({ms / base:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
