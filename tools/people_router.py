"""Routed weights for people (issue 42): a linear "people in the photo" probe on a member's body picks, per
photo, the people mix (stage 1 + the people student) or the default's (stage 1 + the shipped student).

    python -m tools.people_router --out routed.pt
    python -m colorizer weights pack routed.pt --out weights/colorizer_people.pt

Features: the body of --body-member (the shipped Lite0 student) on the photo's L at render size, exactly as
colorizing feeds it (Colorizer.prepare), mean- and max-pooled and standardised. Probe: logistic regression
(L2) fitted on photos of people (a seeded sample of train/people, less its clothing_items_cc0 folder: clothes
on floors and hangers, no people) against photos without (train/'s ImageNet sample and a seeded sample of the
scenes), each photo also as a scanned old print (training.augment.old_print), as users' old photos are: the
plain fit missed half the old photos of people. train/ only, never val/. docs/quality.md, campaign log.
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch

from colorizer.averaged import route_weights
from colorizer.checkpoint import load_weights
from colorizer.images import PhotoError, list_photos, open_photo
from colorizer.infer import Colorizer, _generator
from colorizer.models import body_of

TRAIN = Path("../shared/data/train")


def features(paths: list[Path], weights: Path, prints: bool = False, seed: int = 0) -> np.ndarray:
    """(N, 2C): the body of `weights` on each photo's render-size L, mean- and max-pooled; prints: on the
    photo made to look like a scanned old print (training.augment.old_print), as users' photos are."""
    from colorizer.training.augment import old_print

    model = Colorizer.load(weights, device="cpu", precision="fp32", backend="torch")
    state, meta = load_weights(weights)
    body = body_of(_generator(weights, meta, state)).eval()
    torch.manual_seed(seed)
    rows = []
    with torch.inference_mode():
        for p in paths:
            try:
                _, L = model.prepare(open_photo(p))
            except PhotoError:
                continue
            x = torch.from_numpy(L)
            f = body(old_print(x, p=1.0).contiguous() if prints else x)
            rows.append(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)[0].numpy())
    return np.stack(rows)


def fit_probe(pos: np.ndarray, neg: np.ndarray, l2: float = 1e-2) -> dict:
    """Logistic regression on standardised features -> the router's tensors (weight, bias, mean, std)."""
    x = np.concatenate([pos, neg]).astype(np.float32)
    y = torch.tensor(np.r_[np.ones(len(pos)), np.zeros(len(neg))], dtype=torch.float32)
    mean, std = x.mean(0), x.std(0) + 1e-6
    xt = torch.tensor((x - mean) / std)
    w = torch.zeros(xt.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, y) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    right = ((xt @ w + b > 0).float() == y).float().mean().item()
    print(f"probe: {len(pos)} photos with people, {len(neg)} without; {right:.1%} right on them")
    return {"weight": w.detach(), "bias": b.detach(), "mean": torch.tensor(mean), "std": torch.tensor(std)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", nargs=3, type=Path, default=[Path("weights/generator_pretrained.pt"),
                    Path("weights/lite0_student.pt"), Path("weights/student_people.pt")],
                    help="stage 1, the default's student, the people student")
    ap.add_argument("--scales", nargs=2, type=float, default=[1.15, 1.2], help="the default's mix, the people mix")
    ap.add_argument("--body-member", type=int, default=1, help="whose body the probe reads (default: 1)")
    ap.add_argument("--people", type=int, default=1500, help="photos of people sampled from train/people")
    ap.add_argument("--scenes", type=int, default=1200, help="scenes sampled from train/intel_scenes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--prints", action=argparse.BooleanOptionalAction, default=True,
                    help="also fit on each photo made to look like a scanned old print (default: on; off, the probe "
                         "routes 19 instead of 24 of the 32 historical photos of people; docs/quality.md)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    people = rng.sample([p for p in list_photos(TRAIN / "people") if "clothing_items" not in p.parts[-2]], a.people)
    others = list_photos(TRAIN / "imagenet_sample") + rng.sample(list_photos(TRAIN / "intel_scenes"), a.scenes)
    body_weights = a.members[a.body_member]
    pos, neg = features(people, body_weights), features(others, body_weights)
    if a.prints:
        pos = np.concatenate([pos, features(people, body_weights, prints=True, seed=a.seed + 1)])
        neg = np.concatenate([neg, features(others, body_weights, prints=True, seed=a.seed + 2)])
    router = fit_probe(pos, neg)
    mixes = [{"weights": [1, 1, 0], "scale": a.scales[0]}, {"weights": [1, 0, 1], "scale": a.scales[1]}]
    note = (f"logistic probe on {body_weights.name}'s body: {a.people} train/people photos (no clothing_items) "
            f"against the ImageNet sample and {a.scenes} scenes (seed {a.seed})"
            + (", each also as an old print" if a.prints else "") + "; tools/people_router.py")
    out = route_weights(a.members, mixes, router, a.body_member, a.out, note=note)
    print(f"Wrote {out}: {mixes[0]} for most photos, {mixes[1]} for photos of people")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
