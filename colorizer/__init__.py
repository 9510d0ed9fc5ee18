"""colorizer: two-stage (L1, then GAN) image colorization in CIELAB. See README.md."""
import warnings

# fastai calls torch.jit.script at import time, which torch now flags as deprecated; the notice
# says nothing to our users, so it is hidden (only this one message).
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning)
