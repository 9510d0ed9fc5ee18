#!/usr/bin/env bash
# How the shipped weights were made: both stages on one GPU from a packed copy of the train set.
#
#   python -m tools.make_pack ../shared/data/train .pack/train --short 128 --quality 65
#   OUT=out bash tools/train_on_gpu.sh        # on the GPU machine, with .pack and .whl beside the code
#
# The device tool sends the whole working tree (64 MiB at most) and the shipped weights alone are
# 124 MB: move weights/*.pt out of the checkout for the duration of a device call, and carry the
# pack as one .tar.gz (13k small files waste space; gzip also shrinks the JPEG headers):
#   tar czf .packtar/train.tar.gz -C .pack train
#
# Knobs (environment): PACK, SIZE, BATCH, PRE_MIN, GAN_MIN, PRE_LR, WHEELS (folder of wheels to
# install first, for a machine that has torch but not fastai/kornia), OUT (where results are copied).
set -euo pipefail
PACK=${PACK:-.pack/train}
SIZE=${SIZE:-128}
BATCH=${BATCH:-64}
PRE_MIN=${PRE_MIN:-5}
GAN_MIN=${GAN_MIN:-1.6}
PRE_LR=${PRE_LR:-5e-4}
OUT=${OUT:-out}
NOTE="all of ../shared/data/train (ImageNet sample 977 + Intel scenes 12000), short side 128 JPEG q65"
export PYTHONUNBUFFERED=1

if [ -n "${WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl
  export PYTHONPATH=/tmp/site
fi
mkdir -p "$OUT" weights/gpu
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"

common=(--data "$PACK" --size "$SIZE" --batch-size "$BATCH" --epochs 500 --val-fraction 0.02 --save-every 10
        --half --quiet --data-note "$NOTE")
python3 pretrain.py "${common[@]}" --backbone-weights none --lr "$PRE_LR" --lr-schedule cosine \
  --time-limit "$PRE_MIN" --run-name gpu_pretrain --out weights/gpu/generator_pretrained.pt
# Two GAN fine-tunes from the same start: the pix2pix recipe (2e-4) and a gentler one (5e-5);
# the one that scores better on val/ is shipped (see README, Evaluation).
python3 train_gan.py "${common[@]}" --init weights/gpu/generator_pretrained.pt --time-limit "$GAN_MIN" \
  --run-name gpu_gan_2e-4 --out weights/gpu/colorizer_gan_2e-4.pt
python3 train_gan.py "${common[@]}" --init weights/gpu/generator_pretrained.pt --time-limit "$GAN_MIN" \
  --lr 5e-5 --lr-d 5e-5 --run-name gpu_gan_5e-5 --out weights/gpu/colorizer_gan_5e-5.pt

tar czf "$OUT/runs.tgz" runs/gpu_*/log.csv runs/gpu_*/loss_curve.png \
  $(for d in runs/gpu_*; do ls "$d"/samples/*.png | tail -1; done)
ls -la weights/gpu "$OUT"
