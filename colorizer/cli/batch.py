"""`python -m colorizer batch SRC DEST`: an archive of photos colorized on Ray Data (colorizer/batch/)."""
from __future__ import annotations

import argparse

from ..argtypes import non_negative_float, positive_float, positive_int


def add_parser(sub) -> None:
    from . import quality

    b = sub.add_parser(
        "batch", help="colorize an archive of photos on Ray (one machine or a cluster), resumable",
        usage="python -m colorizer batch SRC DEST [options]",
        description="Colorize every photo below SRC into DEST with Ray Data, as `colorize SRC -o DEST` would "
                    "(same sizes, transparency, names and refusals), and record one row per file in "
                    "DEST/manifest.parquet: source, output, status (done, skipped, refused), reason, milliseconds. "
                    "Stopped at any point (Ctrl-C, kill -9, a worker lost), the same command continues where it "
                    "stopped: no photo is colorized twice or missed. SRC and DEST are folders (local or NFS) or "
                    "URIs pyarrow opens (s3://bucket/prefix). See docs/batch.md.",
        epilog="Examples:\n"
               "  python -m colorizer batch scans/ colorized/                      (a local Ray, all cores)\n"
               "  python -m colorizer batch scans/ colorized/ --workers 4 --cpus-per-worker 2\n"
               "  python -m colorizer batch /nfs/scans /nfs/colorized --address auto    (a running cluster)\n"
               "  python -m colorizer batch s3://archive/scans s3://archive/colorized --address ray://head:10001\n"
               "  python -m colorizer batch scans/ colorized/ --gpus-per-worker 1 --workers 8 --batch-size 64",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("src", metavar="SRC", help="folder of photos (searched recursively), local, NFS or a URI")
    b.add_argument("dest", metavar="DEST", help="folder for the results and the manifest (made when missing)")
    b.add_argument("--saturation", type=float, default=1.0,
                   help="multiply the predicted color, as colorize --saturation (default %(default)s)")
    b.add_argument("--format", default="png", choices=["png", "jpg", "webp"],
                   help="file type of the results (default %(default)s)")
    b.add_argument("--quality", type=quality, default=90, help="jpg and webp quality, 1..100 (default %(default)s)")
    b.add_argument("--retry-refused", action="store_true",
                   help="try again the photos an earlier run refused (default: they stay refused)")
    which = b.add_argument_group("which weights (as colorize)")
    which.add_argument("--weights", help="weights file, .pt or .onnx (default: $COLORIZER_WEIGHTS when set, else "
                                         "the default of --weights-dir); on a cluster, a path every node reads")
    which.add_argument("--weights-dir", default=None,
                       help="where to look for weights (default: $COLORIZER_WEIGHTS_DIR when set, else weights)")
    which.add_argument("--render-size", type=positive_int, default=None,
                       help="size (short side) the colors are predicted at (default: the weights' own)")
    ray_ = b.add_argument_group("Ray: where and how wide it runs")
    ray_.add_argument("--address", default=None,
                      help="join a running Ray cluster: auto, HOST:6379 or ray://HOST:10001 (default: $RAY_ADDRESS "
                           "when set, else a local Ray started in this process)")
    ray_.add_argument("--workers", type=positive_int, default=2,
                      help="actors, each with the model loaded once (default %(default)s)")
    ray_.add_argument("--cpus-per-worker", type=positive_float, default=1.0,
                      help="CPUs each actor reserves; onnxruntime and the decode threads use them "
                           "(default %(default)s)")
    ray_.add_argument("--gpus-per-worker", type=non_negative_float, default=0.0,
                      help="GPUs each actor reserves; above 0 the actors run torch on the GPU "
                           "(default %(default)s: onnxruntime on the CPU)")
    ray_.add_argument("--batch-size", type=positive_int, default=16,
                      help="photos per batch: one task, one manifest part, what a kill can cost "
                           "(default %(default)s; on the CPU the network takes up to 8 of one shape a call, on a GPU "
                           "the whole batch)")
    ray_.add_argument("--num-cpus", type=positive_int, default=None,
                      help="CPUs of the local Ray (default: all; ignored with --address)")
    ray_.add_argument("--object-store-mb", type=positive_int, default=None,
                      help="object store of the local Ray, in MB (default: Ray's; only paths travel through it)")
    ray_.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"],
                      help="on the CPU: onnx (onnxruntime; auto's choice when installed) or torch")
    ray_.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                      help="torch backend's precision (default %(default)s)")
    ray_.add_argument("--verbose", action="store_true", help="Ray's own logs and progress bars too")
    b.set_defaults(func=batch_command)


def batch_command(args: argparse.Namespace) -> int:
    from ..batch.run import run_batch

    return run_batch(args)
