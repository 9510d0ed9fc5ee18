"""Stage 1: train the generator with L1 loss. `python pretrain.py --help` for options."""
import sys

from colorizer.training.parsers import pretrain_main

if __name__ == "__main__":
    sys.exit(pretrain_main())
