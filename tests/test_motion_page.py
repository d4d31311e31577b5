"""Tests of jaxpose.motion_page: the page's file and data, then the page in
headless Chromium (skipped when no Chromium binary is found).

The browser is driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: JSON messages ending in a NUL byte on the
browser's file descriptors 3 and 4), which needs only the standard library
and no network port.
"""
import base64
import fcntl
import io
import json
import os
import pathlib
import queue
import re
import shutil
import subprocess
import threading
import time

import matplotlib.image as mpimg
import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs, get_plotlyjs_version
import pytest

from jaxpose import motion_page
from jaxpose.pose.skeleton import H36M_17, SMPL_22

# A standing pose in the camera frame (mm; x right, y down, z forward), the
# subject facing the camera 4 m away.
_STANDING_MM = np.array([
    [0, 0, 0], [-130, 0, 0], [-130, 450, 0], [-130, 880, 0], [130, 0, 0],
    [130, 450, 0], [130, 880, 0], [0, -230, 0], [0, -480, 0], [0, -560, 0],
    [0, -680, 0], [170, -460, 0], [200, -200, 0], [210, 40, 0],
    [-170, -460, 0], [-200, -200, 0], [-210, 40, 0]], np.float64)
_FOCAL_PX, _CENTRE_PX = 1100.0, 500.0
_L_WRIST = H36M_17.index("l_wrist")
_R_WRIST = H36M_17.index("r_wrist")


def _motion(num_frames, num_hyps=8, seed=0):
  """A side-stepping, arm-waving motion with its 2D view and hypotheses.

  The left wrist is masked in every frame (NaN in 2D), the right wrist in
  every third.
  """
  rng = np.random.default_rng(seed)
  seconds = np.arange(num_frames)[:, None] / 30.0
  joints = np.repeat(_STANDING_MM[None], num_frames, 0)
  joints[:, 12:14, 1] -= 300 * (1 + np.sin(2 * np.pi * 0.5 * seconds))
  joints[:, 15:17, 2] += 200 * np.sin(2 * np.pi * 0.5 * seconds)
  joints[:, :, 0] += 400 * np.sin(2 * np.pi * 0.25 * seconds)
  joints[:, :, 2] += 4000
  keypoints = _FOCAL_PX * joints[..., :2] / joints[..., 2:] + _CENTRE_PX
  hyps = joints[:, None] + rng.normal(0, 30, (num_frames, num_hyps, 17, 3))
  spread = np.linalg.norm(hyps - hyps.mean(1, keepdims=True), axis=-1).mean(1)
  visible = np.ones((num_frames, 17), bool)
  visible[:, _L_WRIST] = False
  visible[::3, _R_WRIST] = False
  keypoints[:, _L_WRIST] = np.nan
  return dict(joints3d_mm=joints, keypoints2d_px=keypoints, spread_mm=spread,
              visible=visible, hypotheses_mm=hyps)


def _trace_index(figure, name):
  return [d["name"] for d in figure["data"]].index(name)


def _frame_trace(figure, frame, name):
  """The data a frame gives the trace called `name`."""
  index = _trace_index(figure, name)
  return frame["data"][frame["traces"].index(index)]


def test_page_is_one_self_contained_file(tmp_path):
  path = tmp_path / "out" / "motion.html"
  written = motion_page.write_motion_page(path, **_motion(12), title="walk")
  assert written == str(path)
  assert sorted(os.listdir(path.parent)) == ["motion.html"]  # no temp file
  page = path.read_text(encoding="utf-8")
  assert page.startswith("<!DOCTYPE html>")
  # Nothing is loaded from elsewhere: no script or style by reference.
  assert not re.search(r"<script[^>]*\ssrc\s*=", page, re.I)
  assert not re.search(r"<(link|iframe|img)\b", page, re.I)
  assert "@import" not in page and 'src="http' not in page
  assert f"plotly.js v{get_plotlyjs_version()}" in page  # embedded
  assert "<title>walk</title>" in page


def test_a_frame_round_trips_through_the_embedded_json(tmp_path):
  motion = _motion(20)
  path = motion_page.write_motion_page(tmp_path / "m.html", **motion,
                                       image_size=(1000, 1000))
  # Parsed straight from the page, without the module's reader.
  page = pathlib.Path(path).read_text(encoding="utf-8")
  element = re.search(
      r'<script type="application/json" id="jaxpose-motion-figure">(.*?)'
      r"</script>", page, re.S)
  figure = json.loads(element.group(1))
  assert figure == motion_page.read_motion_page(path)
  assert [f["name"] for f in figure["frames"]] == [str(t) for t in range(20)]
  t, joint = 13, H36M_17.index("l_elbow")
  frame = figure["frames"][t]
  joints = _frame_trace(figure, frame, "3D joints")
  x, y, z = motion["joints3d_mm"][t, joint]
  # The view's axes are (right, depth, up) = (x, z, -y) of the camera frame.
  got = [joints["x"][joint], joints["y"][joint], joints["z"][joint]]
  np.testing.assert_allclose(got, [x, z, -y], atol=0.051)
  np.testing.assert_allclose(
      got, motion_page.camera_to_viewer(motion["joints3d_mm"][t, joint]),
      atol=0.051)
  np.testing.assert_allclose(joints["marker"]["color"],
                             motion["spread_mm"][t], atol=0.051)
  shown = _frame_trace(figure, frame, "2D condition (visible)")
  masked = _frame_trace(figure, frame, "completed (masked in 2D)")
  u, v = motion["keypoints2d_px"][t, joint]
  assert abs(shown["x"][joint] - u) <= 0.051
  assert abs(shown["y"][joint] - v) <= 0.051
  assert masked["x"][joint] is None  # drawn once, as a condition
  assert shown["x"][_L_WRIST] is None and masked["x"][_L_WRIST] is None
  # Frame 12 masks the right wrist: drawn as completed, not as a condition.
  frame12 = figure["frames"][12]
  assert _frame_trace(figure, frame12, "2D condition (visible)")["x"][
      _R_WRIST] is None
  assert _frame_trace(figure, frame12, "completed (masked in 2D)")["x"][
      _R_WRIST] is not None
  # The 3D axis ranges are fixed over the whole motion and hold every joint.
  scene = figure["layout"]["scene"]
  view = motion_page.camera_to_viewer(motion["joints3d_mm"])
  for axis, coords in zip(("xaxis", "yaxis", "zaxis"), np.moveaxis(view, -1,
                                                                   0)):
    lo, hi = scene[axis]["range"]
    assert lo <= coords.min() and coords.max() <= hi
    assert scene[axis]["autorange"] is False
  # Equal aspect: the aspect ratios are proportional to the ranges.
  spans = [np.diff(scene[a]["range"])[0] for a in ("xaxis", "yaxis", "zaxis")]
  ratio = [scene["aspectratio"][a] for a in "xyz"]
  np.testing.assert_allclose(np.array(ratio) / ratio[0],
                             np.array(spans) / spans[0], rtol=1e-3)
  assert figure["layout"]["yaxis"]["range"] == [1000.0, 0.0]  # y down
  steps = figure["layout"]["sliders"][0]["steps"]
  assert steps[15]["label"] == "15 (0.50 s)"


def test_the_figure_is_valid_plotly():
  figure = motion_page.motion_figure(**_motion(5), image_size=(1000, 1000),
                                     title="t")
  go.Figure(data=figure["data"], layout=figure["layout"])
  types = [d["type"] for d in figure["data"]]
  # A frame's traces name no type (plotly.js takes the trace's); add it to
  # check their property names too.
  frames = [dict(f, data=[dict(d, type=types[i])
                          for i, d in zip(f["traces"], f["data"])])
            for f in figure["frames"]]
  go.Figure(data=figure["data"], layout=figure["layout"], frames=frames)


def _legend(figure):
  """The names in the legend: the traces plotly shows there."""
  return [d["name"] for d in figure["data"] if d.get("showlegend", True)]


def test_hypotheses_are_capped_and_optional():
  motion = _motion(3, num_hyps=8)
  figure = motion_page.motion_figure(**motion)
  # The legend says how many were given (lifted) and how many are drawn.
  name = f"{motion_page.MAX_DRAWN_HYPOTHESES} of 8 hypotheses drawn"
  assert _legend(figure)[0] == name
  hyps = _frame_trace(figure, figure["frames"][0], name)
  num_bones = len(H36M_17.bones)
  assert len(hyps["x"]) == motion_page.MAX_DRAWN_HYPOTHESES * num_bones * 3
  figure = motion_page.motion_figure(**dict(
      motion, hypotheses_mm=motion["hypotheses_mm"][:, :2]))
  assert _legend(figure)[0] == "2 of 2 hypotheses drawn"
  del motion["hypotheses_mm"]
  figure = motion_page.motion_figure(**motion)
  assert not any("hypotheses" in d["name"] for d in figure["data"])


def test_the_lifted_page_counts_every_lifted_hypothesis(tmp_path):
  from jaxpose import lift  # imports JAX: only here
  num_frames, rng = 4, np.random.default_rng(2)
  hyps = _motion(num_frames, num_hyps=20)["hypotheses_mm"]
  hyps = hyps - hyps[:, :, :1]  # root-relative
  lifted = lift.Lifted(
      hypotheses_mm=hyps, mean_mm=hyps.mean(1),
      spread_mm=np.linalg.norm(hyps - hyps.mean(1, keepdims=True),
                               axis=-1).mean(1),
      root_mm=np.tile([0.0, 0.0, 4000.0], (num_frames, 1)),
      pixels=rng.uniform(0, 500, (num_frames, 17, 2)),
      visible=np.ones((num_frames, 17), bool),
      confidence=np.ones((num_frames, 17)), frame=np.arange(num_frames),
      info={"method": "gfpose", "hypotheses": 20,
            "keypoints": {"image_size": [640, 480]}})
  written = lift.write_outputs(lifted, str(tmp_path / "out"))
  figure = motion_page.read_motion_page(written[2])
  assert "gfpose: 20 hypotheses" in figure["layout"]["title"]["text"]
  assert _legend(figure)[0] == "5 of 20 hypotheses drawn"


def _partly_masked_motion(num_frames=12):
  """`_motion` with the 2D shown whole except in frames 4 to 7: frames 4
  and 5 mask the left wrist (NaN in 2D), frames 5 to 7 the right elbow
  (its detection kept: drawn as completed)."""
  motion = _motion(num_frames, num_hyps=20)
  joints = motion["joints3d_mm"]
  keypoints = _FOCAL_PX * joints[..., :2] / joints[..., 2:] + _CENTRE_PX
  visible = np.ones((num_frames, 17), bool)
  visible[4:6, _L_WRIST] = False
  keypoints[4:6, _L_WRIST] = np.nan
  visible[5:8, H36M_17.index("r_elbow")] = False
  return dict(motion, keypoints2d_px=keypoints, visible=visible)


@pytest.mark.parametrize("image_size", [None, (1000, 1000), (500, 500)])
def test_no_frame_changes_the_layout_or_the_legend(image_size):
  motion = _partly_masked_motion()
  figure = motion_page.motion_figure(**motion, image_size=image_size)
  layout = figure["layout"]
  assert (layout["width"], layout["height"]) == (1280, 720)
  assert layout["autosize"] is False
  assert layout["margin"]["autoexpand"] is False  # nothing pushes a margin
  # Every legend entry is a trace no frame changes; no frame's trace is
  # empty (plotly would hide it).
  in_legend = [i for i, d in enumerate(figure["data"])
               if d.get("showlegend", True)]
  assert _legend(figure) == [
      "5 of 20 hypotheses drawn", "bones to completed joints",
      "2D condition (visible)", "completed (masked in 2D)"]
  for frame in figure["frames"]:
    assert not set(frame["traces"]) & set(in_legend)
    assert all(len(d["x"]) >= 1 for d in frame["data"])
  # The 2D axes are fixed and hold every keypoint of every frame: the
  # image, widened where a keypoint lies outside it (the 500 px image).
  (x0, x1), (y_bottom, y_top) = (layout["xaxis"]["range"],
                                 layout["yaxis"]["range"])
  assert layout["xaxis"]["autorange"] is layout["yaxis"]["autorange"] is False
  finite = motion["keypoints2d_px"][np.isfinite(motion["keypoints2d_px"])]
  points = finite.reshape(-1, 2)
  assert x0 <= points[:, 0].min() and points[:, 0].max() <= x1
  assert y_top <= points[:, 1].min() and points[:, 1].max() <= y_bottom
  if image_size == (1000, 1000):
    assert [[x0, x1], [y_bottom, y_top]] == [[0.0, 1000.0], [1000.0, 0.0]]
  elif image_size == (500, 500):
    assert (x0, y_top) == (0.0, 0.0) and y_bottom > 500.0


def test_another_skeleton():
  rng = np.random.default_rng(1)
  num_frames, num_joints = 4, SMPL_22.num_joints
  figure = motion_page.motion_figure(
      joints3d_mm=rng.normal(0, 300, (num_frames, num_joints, 3)),
      keypoints2d_px=rng.uniform(0, 500, (num_frames, num_joints, 2)),
      spread_mm=np.zeros((num_frames, num_joints)),
      visible=np.ones((num_frames, num_joints), bool), skeleton=SMPL_22)
  joints = _frame_trace(figure, figure["frames"][3], "3D joints")
  assert len(joints["x"]) == num_joints
  bones = [_frame_trace(figure, figure["frames"][3], f"3D {side}")["x"]
           for side in ("left", "right", "middle")]
  assert sum(len(b) for b in bones) == 3 * len(SMPL_22.bones)
  with pytest.raises(ValueError, match=r"^joints3d_mm: expected shape "
                     r"\(T, 22, 3\)"):
    motion_page.motion_figure(**_motion(2), skeleton=SMPL_22)


def test_long_motions_are_subsampled_and_say_so():
  figure = motion_page.motion_figure(**_motion(25), max_frames=10)
  assert [f["name"] for f in figure["frames"]] == [str(t)
                                                   for t in range(0, 25, 3)]
  assert "one frame in 3 (9 frames, at most 10" in figure["layout"]["title"][
      "text"]
  play = figure["layout"]["updatemenus"][0]["buttons"][0]
  assert play["args"][1]["frame"]["duration"] == pytest.approx(100.0)
  long = _motion(motion_page.MAX_PAGE_FRAMES + 1, num_hyps=1)
  figure = motion_page.motion_figure(**long)
  assert len(figure["frames"]) == (motion_page.MAX_PAGE_FRAMES + 2) // 2


def test_size_of_a_ten_second_page(tmp_path):
  path = motion_page.write_motion_page(tmp_path / "m.html", **_motion(300),
                                       image_size=(1000, 1000))
  data_bytes = os.path.getsize(path) - len(get_plotlyjs())
  # Coordinates rounded to 0.1: a few kB a frame, hypotheses included.
  assert data_bytes / 300 < 8000, data_bytes


def test_a_title_cannot_break_the_page(tmp_path):
  title = "</script><script>alert(1)</script> & <b>"
  path = motion_page.write_motion_page(tmp_path / "m.html", **_motion(2),
                                       title=title)
  page = pathlib.Path(path).read_text(encoding="utf-8")
  assert "<script>alert(1)" not in page
  assert page.count("</script>") == 3  # plotly.js, the figure, the player
  figure = motion_page.read_motion_page(path)
  assert "alert(1)" in figure["layout"]["title"]["text"]


@pytest.mark.parametrize("change, message", [
    (dict(keypoints2d_px=np.zeros((6, 17, 2))),
     r"^keypoints2d_px: expected shape \(T, 17, 2\) with T=5"),
    (dict(spread_mm=np.zeros((5, 16))), r"^spread_mm: expected shape"),
    (dict(visible=np.ones((5, 17, 1), bool)), r"^visible: expected shape"),
    (dict(visible=np.full((5, 17), 2)), r"^visible: expected booleans"),
    (dict(joints3d_mm=np.zeros((5, 17, 2))), r"^joints3d_mm: expected shape"),
    (dict(hypotheses_mm=np.zeros((4, 3, 17, 3))),
     r"^hypotheses_mm: expected shape \(T, \?, 17, 3\) with T=5"),
    (dict(spread_mm=np.full((5, 17), -1.0)), r"^spread_mm: expected values"),
    (dict(fps=0.0), r"^fps: expected a positive"),
    (dict(image_size=(640,)), r"^image_size: expected \(width, height\)"),
    (dict(image_size=(640, 0)), r"^image_size"),
    (dict(hypotheses_mm=np.zeros((5, 0, 17, 3))),
     r"^hypotheses_mm: expected at least one hypothesis"),
    (dict(fps="fast"), r"^fps: expected a positive"),
    (dict(image_size="ab"), r"^image_size"),
    (dict(max_frames=0), r"^max_frames: expected a positive int"),
    (dict(skeleton="h36m"), r"^skeleton: expected a Skeleton"),
])
def test_bad_input_names_the_argument(tmp_path, change, message):
  args = dict(_motion(5), **change)
  path = tmp_path / "m.html"
  with pytest.raises(ValueError, match=message):
    motion_page.write_motion_page(path, **args)
  assert not path.exists() and not os.listdir(tmp_path)


def test_empty_and_non_finite_motions_are_refused(tmp_path):
  empty = {k: v[:0] for k, v in _motion(3).items()}
  with pytest.raises(ValueError, match=r"^joints3d_mm: expected at least one "
                     r"frame \(T >= 1\), got shape \(0, 17, 3\)"):
    motion_page.write_motion_page(tmp_path / "m.html", **empty)
  motion = _motion(5)
  motion["joints3d_mm"][3, 4, 1] = np.nan
  with pytest.raises(ValueError, match=r"^joints3d_mm: non-finite values .* "
                     r"in 1 of 5 rows: 3"):
    motion_page.write_motion_page(tmp_path / "m.html", **motion)
  motion = _motion(5)
  motion["keypoints2d_px"][2, 0] = np.nan  # the pelvis, a visible joint
  with pytest.raises(ValueError, match=r"^keypoints2d_px: non-finite "
                     r"coordinates at 1 visible joints, first at frame 2, "
                     r"joint 0 \(pelvis\)"):
    motion_page.write_motion_page(tmp_path / "m.html", **motion)
  assert not os.listdir(tmp_path)


def test_an_existing_page_is_replaced_whole(tmp_path):
  path = tmp_path / "m.html"
  path.write_text("old")
  # 0/1 visibility is taken as booleans; all-zero keypoints make no range.
  motion_page.write_motion_page(path, **dict(
      _motion(2), visible=np.ones((2, 17)),
      keypoints2d_px=np.zeros((2, 17, 2))))
  assert motion_page.read_motion_page(path)["frames"][1]["name"] == "1"
  assert sorted(os.listdir(tmp_path)) == ["m.html"]
  path.write_text("<html></html>")
  with pytest.raises(ValueError, match="no motion figure element"):
    motion_page.read_motion_page(path)


# ----------------------------------------------------------------- browser
# Debian: apt-get install -y chromium.  WebGL runs on the software renderer.

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "headless_shell")
_WIDTH, _HEIGHT = 1400, 800


def _find_browser():
  for name in _BROWSERS:
    found = shutil.which(name)
    if found:
      return found
  return None


class _DevTools:
  """Chromium's DevTools protocol over `--remote-debugging-pipe`."""

  def __init__(self, binary, profile_dir):
    to_browser_r, self._to_browser_w = os.pipe()
    self._from_browser_r, from_browser_w = os.pipe()

    def as_fds_3_and_4():
      # Copied above 4 first, so neither end is overwritten by the other.
      high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
              for fd in (to_browser_r, from_browser_w)]
      os.dup2(high[0], 3)
      os.dup2(high[1], 4)

    self._stderr = open(os.path.join(profile_dir, "stderr.txt"), "wb")
    self.process = subprocess.Popen(
        [binary, "--headless", "--no-sandbox", "--remote-debugging-pipe",
         f"--user-data-dir={profile_dir}", f"--window-size={_WIDTH},{_HEIGHT}",
         # WebGL without a GPU: the software renderer.
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
         "--no-first-run", "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", "--mute-audio",
         "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=self._stderr, close_fds=False, preexec_fn=as_fds_3_and_4)
    os.close(to_browser_r)
    os.close(from_browser_w)
    self._messages = queue.Queue()
    self.events = []
    self._last_id = 0
    threading.Thread(target=self._read, daemon=True).start()

  def _read(self):
    pending = b""
    while chunk := os.read(self._from_browser_r, 1 << 16):
      pending += chunk
      *messages, pending = pending.split(b"\0")
      for message in messages:
        self._messages.put(json.loads(message))
    self._messages.put(None)

  def _next(self, deadline):
    try:
      message = self._messages.get(timeout=max(deadline - time.time(), 0.01))
    except queue.Empty:
      raise TimeoutError("no answer from Chromium in time") from None
    if message is None:
      raise RuntimeError("Chromium closed the DevTools pipe")
    return message

  def call(self, method, params=None, session=None, timeout=60.0):
    self._last_id += 1
    message = {"id": self._last_id, "method": method, "params": params or {}}
    if session:
      message["sessionId"] = session
    os.write(self._to_browser_w, json.dumps(message).encode() + b"\0")
    deadline = time.time() + timeout
    while True:
      answer = self._next(deadline)
      if answer.get("id") == self._last_id:
        if "error" in answer:
          raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]
      self.events.append(answer)

  def wait_for_event(self, method, session, timeout=60.0):
    """Waits for an event of one tab's session (or returns: one came)."""
    def match(e):
      return e.get("method") == method and e.get("sessionId") == session
    if any(match(e) for e in self.events):
      return
    deadline = time.time() + timeout
    while True:
      event = self._next(deadline)
      self.events.append(event)
      if match(event):
        return

  def close(self):
    try:
      self.call("Browser.close", timeout=10)
    except (RuntimeError, TimeoutError, OSError):
      pass
    try:
      self.process.wait(10)
    except subprocess.TimeoutExpired:
      self.process.kill()
      self.process.wait()
    os.close(self._to_browser_w)
    self._stderr.close()


class _Page:
  """A new tab of `_DevTools`, showing a file."""

  def __init__(self, browser, path):
    self.browser = browser
    target = browser.call("Target.createTarget",
                          {"url": "about:blank"})["targetId"]
    self.session = browser.call("Target.attachToTarget", {
        "targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
      self.call(f"{domain}.enable")
    self.call("Emulation.setDeviceMetricsOverride", {
        "width": _WIDTH, "height": _HEIGHT, "deviceScaleFactor": 1,
        "mobile": False})
    self.call("Page.navigate", {"url": pathlib.Path(path).as_uri()})
    browser.wait_for_event("Page.loadEventFired", self.session, timeout=120)

  def call(self, method, params=None, timeout=60.0):
    return self.browser.call(method, params, self.session, timeout)

  def evaluate(self, expression):
    """The JSON value of a JS expression (a promise is awaited)."""
    result = self.call("Runtime.evaluate", {
        "expression": expression, "returnByValue": True,
        "awaitPromise": True})
    if "exceptionDetails" in result:
      raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
    return result["result"].get("value")

  def wait_until(self, expression, timeout=120.0):
    deadline = time.time() + timeout
    while not self.evaluate(expression):
      if time.time() > deadline:
        raise TimeoutError(f"still false after {timeout} s: {expression}")
      time.sleep(0.1)

  def screenshot(self):
    """RGB floats in [0, 1].  # [height, width, 3]"""
    png = self.call("Page.captureScreenshot", {"format": "png"})["data"]
    return mpimg.imread(io.BytesIO(base64.b64decode(png)), format="png")[
        ..., :3]

  def click(self, x, y):
    # As a hand clicks: moved there first, held a moment.  Plotly's slider
    # can miss the release of a press that came with no move before it, or
    # the same instant, and then stays in a drag that ignores animations.
    self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x,
                                           "y": y})
    for kind in ("mousePressed", "mouseReleased"):
      self.call("Input.dispatchMouseEvent", {
          "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})
      time.sleep(0.2)

  def press(self, key):
    for kind in ("keyDown", "keyUp"):
      self.call("Input.dispatchKeyEvent", {"type": kind, "key": key,
                                           "code": key})

  def problems(self):
    """Console errors, uncaught exceptions and plotly's warnings."""
    found = []
    for event in self._events():
      method, params = event.get("method"), event.get("params", {})
      if method == "Runtime.exceptionThrown":
        found.append(json.dumps(params["exceptionDetails"])[:500])
      elif method == "Runtime.consoleAPICalled":
        text = " ".join(str(a.get("value", a.get("description", "")))
                        for a in params["args"])
        # plotly.js warns through console.trace, beginning "WARN:".
        if params["type"] in ("error", "assert") or text.startswith("WARN:"):
          found.append(f"console.{params['type']}: {text}")
      elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
        found.append(f"log: {params['entry']['text']}")
    return found

  def requested_urls(self):
    return [e["params"]["request"]["url"] for e in self._events()
            if e.get("method") == "Network.requestWillBeSent"]

  def _events(self):
    return [e for e in self.browser.events
            if e.get("sessionId") == self.session]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
  binary = _find_browser()
  if binary is None:
    pytest.skip("no Chromium binary found (looked for "
                f"{', '.join(_BROWSERS)} on PATH)")
  devtools = _DevTools(binary, str(tmp_path_factory.mktemp("chromium")))
  yield devtools
  devtools.close()


# The slider's current-value text, e.g. "frame 12 (0.40 s)" (the first of
# its labels; the others mark the rail).
_LABEL_JS = ("document.querySelector('#jaxpose-motion .slider-container "
             "text.slider-label').textContent")


def _label(page):
  return page.evaluate(_LABEL_JS)


def _scene_centre(page, image):
  """The middle third (each way) of the 3D view in a screenshot."""
  size, domain = page.evaluate(
      "(() => { var l = document.getElementById('jaxpose-motion')"
      "._fullLayout; return [l._size, l.scene.domain]; })()")
  x0 = size["l"] + domain["x"][0] * size["w"]
  x1 = size["l"] + domain["x"][1] * size["w"]
  y0 = size["t"] + (1 - domain["y"][1]) * size["h"]
  y1 = size["t"] + (1 - domain["y"][0]) * size["h"]
  third_x, third_y = (x1 - x0) / 3, (y1 - y0) / 3
  return image[int(y0 + third_y):int(y1 - third_y),
               int(x0 + third_x):int(x1 - third_x)]


def test_the_page_plays_in_headless_chromium(browser, tmp_path):
  motion = _motion(90)
  path = motion_page.write_motion_page(tmp_path / "m.html", **motion,
                                       image_size=(1000, 1000), title="wave")
  figure = motion_page.read_motion_page(path)
  joints_index = _trace_index(figure, "3D joints")
  page = _Page(browser, path)
  page.wait_until("document.getElementById('jaxpose-motion')"
                  ".getAttribute('data-ready') === '1'")
  assert page.evaluate("document.getElementById('jaxpose-motion')"
                       "._transitionData._frames.length") == 90
  assert _label(page) == "frame 0 (0.00 s)"
  # The 3D view is drawn (WebGL works): its centre is not one colour, and
  # holds the skeleton's blue and red bones.
  centre = _scene_centre(page, page.screenshot())
  assert centre.size and centre.std() > 0.02
  for color in (motion_page.LEFT_COLOR, motion_page.RIGHT_COLOR):
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    near = np.abs(centre - rgb).max(-1) < 0.15
    assert near.sum() > 20, f"no {color} bone in the 3D view's centre"

  # Scrubbing from script: the label, the trace data and the view change.
  page.evaluate("Plotly.animate('jaxpose-motion', ['45'], {mode: "
                "'immediate', frame: {duration: 0, redraw: true}, "
                "transition: {duration: 0}}).then(() => true)")
  page.wait_until(f"{_LABEL_JS} === 'frame 45 (1.50 s)'", timeout=30)
  shown_x = page.evaluate(f"document.getElementById('jaxpose-motion')"
                          f".data[{joints_index}].x")
  assert shown_x == _frame_trace(figure, figure["frames"][45],
                                 "3D joints")["x"]
  assert shown_x != _frame_trace(figure, figure["frames"][0], "3D joints")["x"]
  later = _scene_centre(page, page.screenshot())
  assert later.shape == centre.shape and np.abs(later - centre).max() > 0.2

  # Clicking three quarters along the slider's rail goes to that frame.
  rail = page.evaluate(
      "(() => { var r = document.querySelector('#jaxpose-motion "
      ".slider-rail-rect').getBoundingClientRect(); return [r.left, r.top, "
      "r.width, r.height]; })()")
  page.click(rail[0] + 0.75 * rail[2], rail[1] + rail[3] / 2)
  page.wait_until(f"!{_LABEL_JS}.startsWith('frame 45 ')", timeout=30)
  clicked = int(_label(page).split()[1])
  assert abs(clicked - 0.75 * 89) <= 3, _label(page)
  # The arrow keys step one frame.
  page.press("ArrowRight")
  page.wait_until(f"{_LABEL_JS}.startsWith('frame {clicked + 1} ')",
                  timeout=30)

  # Play runs on from there; pause stops it.
  buttons = page.evaluate(
      "Array.from(document.querySelectorAll('#jaxpose-motion "
      ".updatemenu-button')).map(b => { var r = b.getBoundingClientRect(); "
      "return [b.textContent, r.left + r.width / 2, r.top + r.height / 2]; "
      "})")
  at = {text: (x, y) for text, x, y in buttons}
  page.click(*at["play"])
  page.wait_until(f"+{_LABEL_JS}.split(' ')[1] >= {clicked + 5}",
                  timeout=30)
  page.click(*at["pause"])
  time.sleep(0.5)
  paused = _label(page)
  time.sleep(0.5)
  assert _label(page) == paused

  assert page.problems() == []
  urls = page.requested_urls()
  assert urls and all(u.startswith(("file:", "data:", "blob:", "about:"))
                      for u in urls), urls


# The 2D panel's plot area, legend, axis ranges and drawn points, in CSS px.
_LAYOUT_JS = """(() => {
  var gd = document.getElementById('jaxpose-motion'), L = gd._fullLayout;
  var rect = e => { var r = e.getBoundingClientRect();
                    return [r.left, r.top, r.width, r.height]; };
  return {
    area: rect(gd.querySelector('.draglayer .xy .nsewdrag')),
    legend: rect(gd.querySelector('.legend .bg')),
    legend_texts: Array.from(gd.querySelectorAll('.legend .legendtext'))
        .map(e => e.textContent),
    size: L._size, ranges: [L.xaxis.range, L.yaxis.range],
    points: Array.from(gd.querySelectorAll(
        '.cartesianlayer .subplot.xy .scatterlayer path.point')).map(e => {
      var r = e.getBoundingClientRect();
      return [r.left + r.width / 2, r.top + r.height / 2]; }),
  };
})()"""


def _go_to(page, name, how):
  """Shows frame `name`, `how`: by a key ("ArrowRight") or as the slider
  does ("animate": Plotly.animate), and waits until it is drawn."""
  page.evaluate("(() => { var gd = document.getElementById('jaxpose-motion');"
                " window.drawn = false; gd.once('plotly_animated', () => "
                "window.drawn = true); return true; })()")
  if how != "animate":
    page.press(how)
  else:
    page.evaluate(f"Plotly.animate('jaxpose-motion', ['{name}'], {{mode: "
                  "'immediate', frame: {duration: 0, redraw: true}, "
                  "transition: {duration: 0}}).then(() => true)")
  page.wait_until("window.drawn", timeout=30)
  page.wait_until(f"{_LABEL_JS}.startsWith('frame {name} ')", timeout=30)
  # Two animation frames later the page has been painted.
  page.evaluate("new Promise(r => requestAnimationFrame(() => "
                "requestAnimationFrame(() => r(true))))")


def test_a_masked_frame_never_moves_the_layout(browser, tmp_path):
  motion = _partly_masked_motion()
  keypoints, visible = motion["keypoints2d_px"], motion["visible"]
  path = motion_page.write_motion_page(tmp_path / "m.html", **motion,
                                       title="gfpose: 20 hypotheses")
  figure = motion_page.read_motion_page(path)
  (x0, x1), (y_bottom, y_top) = (figure["layout"]["xaxis"]["range"],
                                 figure["layout"]["yaxis"]["range"])
  page = _Page(browser, path)
  page.wait_until("document.getElementById('jaxpose-motion')"
                  ".getAttribute('data-ready') === '1'")
  first = page.evaluate(_LAYOUT_JS)
  assert first["legend_texts"] == _legend(figure)
  assert first["legend_texts"][0] == "5 of 20 hypotheses drawn"
  shots = {}
  # Frame 0 as loaded, then each frame by the arrow key (into and out of
  # the masked frames 4 to 7), then jumps from an unmasked frame to a
  # masked one and back.
  visits = ([("0", None)] + [(str(t), "ArrowRight") for t in range(1, 12)] +
            [(name, "animate") for name in ("5", "0", "6")])
  for name, how in visits:
    if how:
      _go_to(page, name, how)
    now, t = page.evaluate(_LAYOUT_JS), int(name)
    where = f"frame {t} ({(~visible[t]).sum()} joints masked)"
    # The plot area, margins and legend stay where they were.
    for part in ("area", "legend"):
      np.testing.assert_allclose(now[part], first[part], atol=0.5,
                                 err_msg=f"{where}: {part}")
    assert now["legend_texts"] == first["legend_texts"], where
    assert now["size"] == first["size"], where
    np.testing.assert_allclose(now["ranges"], [[x0, x1], [y_bottom, y_top]],
                               atol=1e-6, err_msg=where)
    # Every drawn 2D joint lies inside the axes, where its pixel belongs.
    left, top, width, height = now["area"]
    drawn = np.array(now["points"]).reshape(-1, 2)
    shown = keypoints[t][np.isfinite(keypoints[t]).all(-1)]
    assert len(drawn) == len(shown), where
    assert ((drawn >= [left - 0.5, top - 0.5]).all() and
            (drawn <= [left + width + 0.5, top + height + 0.5]).all()), (
                where, now["area"], drawn)
    expected = np.stack([left + (shown[:, 0] - x0) / (x1 - x0) * width,
                         top + (shown[:, 1] - y_top) / (y_bottom - y_top) *
                         height], -1)
    gaps = np.linalg.norm(expected[:, None] - drawn[None], axis=-1)
    assert gaps.min(1).max() < 1.5, (where, gaps.min(1).max())
    if name in ("3", "5") and name not in shots:
      shots[name] = page.screenshot()
      mpimg.imsave(tmp_path / f"frame{name}.png", shots[name])
  # The unmasked and the masked frame's legends look the same.
  left, top, width, height = [int(round(v)) for v in first["legend"]]
  legend = np.s_[top:top + height, left:left + width]
  np.testing.assert_array_equal(shots["3"][legend], shots["5"][legend])
  assert page.problems() == []


def _solid_frames(tmp_path, num_frames):
  """A JPEG per frame, each one plain colour (red rising, blue falling)."""
  from PIL import Image
  paths = []
  for t in range(num_frames):
    path = tmp_path / f"{t}.jpg"
    Image.new("RGB", (64, 64), (20 * t, 60, 240 - 20 * t)).save(path)
    paths.append(str(path))
  return paths


def test_video_frames_sit_behind_the_2d_view_and_follow_the_slider(
    browser, tmp_path):
  # Frames 4 to 7 have completed joints; each frame's own image is drawn
  # behind its keypoints, whether or not a joint was completed, and a
  # one-hypothesis motion shows no spread colour bar.
  motion = _partly_masked_motion()
  one = dict(motion, hypotheses_mm=motion["joints3d_mm"][:, None],
             spread_mm=np.zeros_like(motion["spread_mm"]))
  images = _solid_frames(tmp_path, 12)
  images[3] = None  # no image: frame 2's stays
  path = motion_page.write_motion_page(
      tmp_path / "m.html", **one, image_size=(1000, 1000),
      title="baseline: 1 hypothesis", frame_images=images)
  figure = motion_page.read_motion_page(path)
  assert figure["layout"]["coloraxis"]["showscale"] is False
  assert "hypotheses drawn" not in " ".join(_legend(figure))
  page = _Page(browser, path)
  page.wait_until("document.getElementById('jaxpose-motion')"
                  ".getAttribute('data-ready') === '1'")
  assert page.evaluate("document.querySelectorAll('#jaxpose-motion "
                       ".colorbar').length") == 0

  def corner():  # the image's top-left corner, inside the 2D view
    at = page.evaluate(_LAYOUT_JS)["area"]
    shot = page.screenshot()
    return shot[int(at[1]) + 6, int(at[0]) + 6]

  colours = {}
  for name, how in [("0", None)] + [(str(t), "ArrowRight")
                                     for t in range(1, 8)]:
    if how:
      _go_to(page, name, how)
    colours[int(name)] = corner()
  for t in (0, 1, 2, 4, 5, 6, 7):  # 4-7: completed joints
    want = np.array([20 * t, 60, 240 - 20 * t]) / 255
    # The image is drawn at 0.8 opacity over white.
    np.testing.assert_allclose(colours[t], 0.8 * want + 0.2, atol=0.06,
                               err_msg=f"frame {t}")
  np.testing.assert_allclose(colours[3], colours[2], atol=0.02)
  assert page.problems() == []
