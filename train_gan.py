"""Stage 2: fine-tune the stage-1 generator adversarially. `python train_gan.py --help` for options."""
import sys

from colorizer.training.parsers import gan_main

if __name__ == "__main__":
    sys.exit(gan_main())
