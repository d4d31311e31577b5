"""Sets up the 2D detector that `experiments.lift --video` runs, once.

  python -m experiments.setup_detector [--venv=~/.cache/jaxpose/detector]

MediaPipe 0.10.14 (its wheel carries the BlazePose models: nothing is
downloaded when it runs) pins its own jax and numpy 1.x, so it gets a
virtual environment of its own (`requirements-video.txt`), which jaxpose
calls as separate processes (`jaxpose/video/detect.py`). Elsewhere: set
JAXPOSE_DETECTOR_PYTHON to that environment's python.
"""
from __future__ import annotations

from absl import app
from absl import flags

from jaxpose import logs
from jaxpose.video import detect


def main(argv):
  del argv
  logs.exit_on_error(lambda: print(
      "detector ready: " + detect.setup_detector(_VENV.value)),
      debug=_DEBUG.value)


if __name__ == "__main__":
  _VENV = flags.DEFINE_string("venv", detect.DEFAULT_VENV, "Where to make the "
                              "detector's virtual environment.")
  _DEBUG = flags.DEFINE_bool("debug", False, "Show the traceback of an error.")
  app.run(main)
