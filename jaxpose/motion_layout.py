"""The motion page's frame: its HTML and script, and the plotly layout
around the views (`motion_page` fills in the motion).

The layout fixes everything a frame could move: the 3D and 2D views' axis
ranges, the margins, the legend, the slider and buttons, and the spread's
colour bar (hidden when every spread is 0: one hypothesis has none). A
frame of the video, when given, is the 2D view's background image, set by
each animation frame.
"""
from __future__ import annotations

import base64
import html

import numpy as np

# The spread's colours (markers and colour bar), as plotly names them.
SPREAD_COLORSCALE = "Viridis"
DECIMALS = 1  # coordinates and spreads are rounded to 0.1 mm, 0.1 px


def rounded(values) -> list:
  """A JSON-ready list of numbers rounded to 0.1; NaN -> None (a gap)."""
  values = np.round(np.asarray(values, np.float64), DECIMALS)
  return [None if not np.isfinite(v) else v for v in values.tolist()]


PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script type="text/javascript">{plotly_js}</script>
</head><body style="margin: 0"><div id="{plot_id}"></div>
<script type="application/json" id="{figure_id}">{figure_json}</script>
<script type="text/javascript">
(function() {{
  var fig = JSON.parse(document.getElementById("{figure_id}").textContent);
  var gd = document.getElementById("{plot_id}");
  var names = fig.frames.map(function(f) {{ return f.name; }}), current = 0;
  // An animation cut short (pause, a key, the slider) rejects its promise
  // with no reason; plotly's own buttons leave that uncaught.
  function animate(frames, options) {{
    Plotly.animate(gd, frames, options).catch(function() {{}});
  }}
  Plotly.newPlot(gd, fig.data, fig.layout,
                 {{displaylogo: false}}).then(function() {{
    return Plotly.addFrames(gd, fig.frames);
  }}).then(function() {{
    // The slider reports a click at once, an animation frame once drawn.
    gd.on("plotly_sliderchange", function(e) {{ current = e.slider.active; }});
    gd.on("plotly_animatingframe", function(e) {{
      current = Math.max(0, names.indexOf(e.name));
    }});
    gd.on("plotly_buttonclicked", function(e) {{
      animate(e.button.args[0], e.button.args[1]);
    }});
    gd.setAttribute("data-ready", "1");
  }});
  // The arrow keys step one frame: the slider alone is coarse when long.
  document.addEventListener("keydown", function(e) {{
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    var next = current + (e.key === "ArrowRight" ? 1 : -1);
    if (next < 0 || next >= names.length) return;
    current = next;
    animate([names[next]], {{mode: "immediate",
        frame: {{duration: 0, redraw: true}}, transition: {{duration: 0}}}});
  }});
}})();
</script></body></html>
"""



def page_layout(*, title, note, ranges, aspect, range_2d, image_size,
                spread_max, steps, frame_ms, show_spread: bool = True,
                image: dict | None = None) -> dict:
  """The figure's layout: 3D view left, 2D view right, slider below."""
  axis_3d = {"showbackground": True, "backgroundcolor": "#f4f4f4",
             "autorange": False}
  immediate = {"mode": "immediate", "transition": {"duration": 0}}
  layout = {
      "width": 1280, "height": 720, "autosize": False,
      "margin": {"l": 10, "r": 110, "t": 100, "b": 110, "autoexpand": False},
      "title": {"text": (html.escape(title) + "<br>" if title else "") +
                        f"<sup>{note}</sup>", "x": 0.01, "xanchor": "left",
                "y": 0.955, "yanchor": "middle"},
      "scene": {
          "domain": {"x": [0.0, 0.55], "y": [0.1, 1.0]},
          "xaxis": dict(axis_3d, title={"text": "x, right (mm)"},
                        range=ranges[0]),
          "yaxis": dict(axis_3d, title={"text": "z, depth (mm)"},
                        range=ranges[1]),
          "zaxis": dict(axis_3d, title={"text": "-y, up (mm)"},
                        range=ranges[2]),
          "aspectmode": "manual", "aspectratio": aspect,
          # From the camera's side, a little above and to the right.
          "camera": {"eye": {"x": 0.5, "y": -1.6, "z": 0.5},
                     "up": {"x": 0, "y": 0, "z": 1}}},
      "xaxis": {"domain": [0.6, 0.93], "range": range_2d[0],
                "autorange": False, "title": {"text": "x (px)"},
                "constrain": "domain", "zeroline": False},
      "yaxis": {"domain": [0.1, 1.0], "range": range_2d[1],
                "autorange": False, "title": {"text": "y (px), down"},
                "scaleanchor": "x",
                "scaleratio": 1, "constrain": "domain", "zeroline": False},
      "coloraxis": {"colorscale": SPREAD_COLORSCALE, "cmin": 0.0,
                    "cmax": round(spread_max, DECIMALS),
                    "showscale": show_spread,
                    "colorbar": {"title": {"text": "spread (mm)"},
                                 "x": 1.0, "len": 0.8, "y": 0.55}},
      "legend": {"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.0,
                 "yanchor": "bottom"},
      "updatemenus": [{
          "type": "buttons", "direction": "left", "showactive": False,
          "x": 0.0, "y": 0.0, "xanchor": "left", "yanchor": "top",
          "pad": {"t": 50, "r": 10},
          "buttons": [
              # "skip": the page's script calls Plotly.animate(*args).
              {"label": "play", "method": "skip", "args": [None, dict(
                  immediate, fromcurrent=True,
                  frame={"duration": frame_ms, "redraw": True})]},
              {"label": "pause", "method": "skip", "args": [[None], dict(
                  immediate, frame={"duration": 0, "redraw": False})]}]}],
      "sliders": [{
          "active": 0, "x": 0.12, "y": 0.0, "len": 0.86,
          "xanchor": "left", "yanchor": "top", "pad": {"t": 30},
          "currentvalue": {"prefix": "frame ", "xanchor": "left"},
          "steps": [{"label": label, "method": "animate", "args": [
              [name], dict(immediate, frame={"duration": 0, "redraw": True})]}
                    for name, label in steps]}],
  }
  if image is not None:
    layout["images"] = [image]
  if image_size is not None:
    layout["shapes"] = [{"type": "rect", "xref": "x", "yref": "y", "x0": 0,
                         "y0": 0, "x1": image_size[0], "y1": image_size[1],
                         "line": {"color": "#555555", "width": 1}}]
  return layout


def frame_image(jpeg: bytes, image_size) -> dict:
  """A video frame (JPEG bytes) as the 2D view's background, filling the
  image's extent in pixels (y down)."""
  return {"source": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode(),
          "xref": "x", "yref": "y", "x": 0, "y": 0, "sizex": image_size[0],
          "sizey": image_size[1], "xanchor": "left", "yanchor": "top",
          "sizing": "stretch", "layer": "below", "opacity": 0.8}


def range_2d(keypoints, image_size) -> list[list[float]]:
  """[[x0, x1], [y_bottom, y_top]], fixed over the motion: the image (and
  any keypoint outside it), else the keypoints' extent over all frames."""
  finite = keypoints[np.isfinite(keypoints).all(-1)]
  if not finite.size:  # every joint masked and NaN
    finite = np.zeros((1, 2))
  lo, hi = finite.min(0), finite.max(0)
  if image_size is not None:
    lo, hi = np.minimum(lo, 0.0), np.maximum(hi, image_size)
  else:
    pad = 0.05 * max(float((hi - lo).max()), 1.0)
    lo, hi = lo - pad, hi + pad
  return [rounded([lo[0], hi[0]]), rounded([hi[1], lo[1]])]
