"""The results spec: one module per page of docs/results/, and the README's
headline table (`headline.py`). A page module defines `PAGE`."""
from experiments.report.pages import accuracy
from experiments.report.pages import bodies
from experiments.report.pages import calibration
from experiments.report.pages import diffpose
from experiments.report.pages import dposer
from experiments.report.pages import footage
from experiments.report.pages import headline
from experiments.report.pages import parity
from experiments.report.pages import speed
from experiments.report.pages import video

PAGES = (accuracy.PAGE, bodies.PAGE, diffpose.PAGE, dposer.PAGE, calibration.PAGE,
         video.PAGE, footage.PAGE, parity.PAGE, speed.PAGE)
HEADLINE = headline.TABLE
