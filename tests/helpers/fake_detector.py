"""Stands in for the detector's interpreter in tests: called as
`fake_detector.py WORKER --video=V ...` (as `python WORKER ...` would be),
it speaks `mediapipe_worker.py`'s protocol (flags, or --wait and a JSON
line on stdin) without MediaPipe or a real
video. The "video" is an .npz of `landmarks` [T, 33, 3] (x, y normalised,
visibility), `size` (width, height) and `fps`; a frame whose visibilities
are all 0 has no person. `fail_at` in the npz makes the worker of the
stretch holding that frame die there, as a crashing detector would; with
`second` (landmarks of another person) in it, --person_at picks whichever
of the two has its torso nearer the point in the first frame."""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
from jaxpose.video import mediapipe_worker  # noqa: E402  pylint: disable=wrong-import-position


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("worker")
  args = mediapipe_worker.arguments(parser).parse_args()
  try:
    clip = np.load(args.video)
  except Exception:  # pylint: disable=broad-except
    print(f"error: {args.video}: cannot be decoded as a video", file=sys.stderr)
    sys.exit(1)
  marks, (w, h) = clip["landmarks"], clip["size"].tolist()
  if args.probe:
    print(json.dumps({"frames": len(marks), "fps": float(clip["fps"]),
                      "width": w, "height": h}), flush=True)
  if args.probe and not args.wait:
    return
  if args.wait and not mediapipe_worker.stretch_from_stdin(args):
    return
  if args.person_at and "second" in clip:
    point = np.array([float(v) for v in args.person_at.split(",")])
    torso = lambda m: m[args.start, [11, 12, 23, 24], :2].mean(0) * [w, h]
    if (np.linalg.norm(torso(clip["second"]) - point)
        < np.linalg.norm(torso(marks) - point)):
      marks = clip["second"]
  from PIL import Image  # pylint: disable=import-outside-toplevel
  os.makedirs(os.path.join(args.out, "frames"), exist_ok=True)
  frames = []
  for k in range(args.start, min(args.stop, len(marks))):
    if "fail_at" in clip and k == int(clip["fail_at"]):
      print("RuntimeError: the detector's graph failed", file=sys.stderr)
      sys.exit(3)
    person = marks[k]
    if k % args.every == 0:  # the others decoded, not detected
      frames.append({"frame": k, "landmarks": [] if not person[:, 2].any()
                     else [{"x": x, "y": y, "z": 0.0, "visibility": v,
                            "presence": 0.0} for x, y, v in person.tolist()]})
    if args.thumb_every and k % args.thumb_every == 0:
      Image.new("RGB", (32, 18), (k % 256, 80, 160)).save(
          os.path.join(args.out, "frames", f"{k}.jpg"))
    print(f"progress {k}", file=sys.stderr, flush=True)
  with open(os.path.join(args.out, f"landmarks_{args.start}.json"), "w") as f:
    json.dump(frames, f)


if __name__ == "__main__":
  main()
