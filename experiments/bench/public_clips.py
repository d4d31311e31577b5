"""Real footage for benchmarks: clips that registry packages ship.

Real video is never committed. Two packages on PyPI ship demo clips of
real people, fetched here at benchmark time with `pip download` (no
install) and kept under a cache folder:

  pose2sim 0.10.49   Pose2Sim/Demo_SinglePerson: one person in a lab, four
                     calibrated cameras (Calib.qca.txt, Qualisys), 60 fps
                     Pose2Sim/Demo_MultiPerson: two people, the same cameras
  sports2d 0.8.34    Sports2D/Demo/demo.mp4: three people outdoors in turn,
                     one camera

`clip(name)` -> the file's path; `SOURCES` says where each came from (the
results pages quote it).
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile

CACHE = os.path.join(os.path.expanduser("~"), ".cache", "jaxpose", "clips")
WHEELS = {"pose2sim": "pose2sim==0.10.49", "sports2d": "sports2d==0.8.34"}
# name -> (package, member of its wheel)
CLIPS = {
    **{f"pose2sim_cam0{i}": (
        "pose2sim", f"Pose2Sim/Demo_SinglePerson/videos/cam0{i}.mp4")
       for i in range(1, 5)},
    "pose2sim_calibration": (
        "pose2sim", "Pose2Sim/Demo_SinglePerson/calibration/Calib.qca.txt"),
    **{f"pose2sim_multi_cam0{i}": (
        "pose2sim", f"Pose2Sim/Demo_MultiPerson/videos/cam0{i}.mp4")
       for i in range(1, 5)},
    "sports2d_demo": ("sports2d", "Sports2D/Demo/demo.mp4"),
}
SOURCES = {
    "pose2sim": ("Pose2Sim 0.10.49's Demo_SinglePerson (PyPI wheel "
                 "pose2sim-0.10.49; D. Pagnon, BSD-3-Clause): one person "
                 "walking in a lab, four calibrated cameras"),
    "sports2d": ("Sports2D 0.8.34's Demo/demo.mp4 (PyPI wheel "
                 "sports2d-0.8.34; D. Pagnon, BSD-3-Clause): people outdoors "
                 "in turn, one camera"),
}


def _wheel(package: str, cache: str) -> str:
  folder = os.path.join(cache, "wheels")
  found = [n for n in os.listdir(folder)] if os.path.isdir(folder) else []
  version = WHEELS[package].split("==")[1]
  name = next((n for n in found if n.startswith(f"{package}-{version}")), None)
  if name is None:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet",
                    "--no-deps", "--dest", folder, WHEELS[package]], check=True)
    name = next(n for n in os.listdir(folder)
                if n.startswith(f"{package}-{version}"))
  return os.path.join(folder, name)


def clip(name: str, cache: str = CACHE) -> str:
  """The path of the named clip (or calibration), fetched once."""
  if name not in CLIPS:
    raise KeyError(f"clip {name!r}: expected one of {sorted(CLIPS)}")
  package, member = CLIPS[name]
  path = os.path.join(cache, package, member)
  if not os.path.isfile(path):
    with zipfile.ZipFile(_wheel(package, cache)) as wheel:
      os.makedirs(os.path.dirname(path), exist_ok=True)
      with open(path + ".tmp", "wb") as f:
        f.write(wheel.read(member))
      os.replace(path + ".tmp", path)
  return path


def source(name: str) -> str:
  """Where the named clip comes from, in words."""
  if name.startswith("pose2sim_multi"):
    return (SOURCES["pose2sim"].replace("Demo_SinglePerson", "Demo_MultiPerson")
            .replace("one person walking", "two people moving"))
  return SOURCES[CLIPS[name][0]]


__all__ = ["CLIPS", "SOURCES", "clip", "source"]
