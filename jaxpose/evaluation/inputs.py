"""What a model receives at test time, as every results file records it.

A results file's `test_inputs` (and `baseline_test_inputs` where it also
holds a baseline's figures, measured on the same rows) is a record

  {"2d": which 2D the test rows hold ("exact", "noisy", "given (f.npz)"),
   "uncertainty": the per-keypoint 2D uncertainty the model reads and
     where it comes from ("none": it reads none),
   "masks": the joints it is given masked ("none": every joint),
   "camera": the camera geometry it reads of each row, e.g. the
     intrinsics a camera-aware representation needs ("none": it reads
     none),
   "calibration_rows": the rows that fitted the calibration applied to its
     hypotheses ("": none applied),
   "weights_chosen_on": rows beyond its training rows that chose settings
     it applies, e.g. a prior's weight ("": none)}

The generic part (2D, calibration) comes from the evaluation; what a
method reads besides is its `Reads` (`Method.test_inputs`). Two records
compare with `sees_more`: a comparison is like for like when neither side
receives anything the other does not (`like_for_like`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

NONE = "none"
FIELDS = ("2d", "uncertainty", "masks", "camera", "calibration_rows",
          "weights_chosen_on")
# A record's key of the baseline's inputs, and the field of that record
# naming where the baseline's figures are in the file.
BASELINE = "baseline_test_inputs"
BASELINE_FIGURES = "figures"
_NOTHING = ("", NONE, None)


@dataclasses.dataclass(frozen=True)
class Reads:
  """What a method reads of each test row of a task beside its 2D.

  Attributes:
    uncertainty: the per-keypoint 2D uncertainty it reads and where it
      comes from (a dataset field and what it is), or "none".
    masks: the joints whose input it is given masked, or "none".
    camera: the camera geometry it reads of each row (`Method.reads`
      fills it from the run's representation), or "none".
    reads_2d: False for a task that reads no 2D of the test rows (a
      motion to denoise, a 3D pose to complete, samples): its record's
      "2d" is "none" whatever the dataset holds.
    weights_chosen_on: rows beyond its training rows that chose settings
      it applies (e.g. a prior's weight), or "".
    baseline: what the baseline reads whose figures the task's results
      hold beside the method's (on the same rows); None: they hold none.
    baseline_figures: where those figures are in the results (a key).
  """
  uncertainty: str = NONE
  masks: str = NONE
  camera: str = NONE
  weights_chosen_on: str = ""
  reads_2d: bool = True
  baseline: "Reads | None" = None
  baseline_figures: str = ""


def record(input_2d: str, reads: Reads, calibration_rows: str = "") -> dict:
  """The `test_inputs` record (module docstring) of a model that reads
  `reads` of test rows holding `input_2d` 2D."""
  return {"2d": input_2d if reads.reads_2d else NONE,
          "uncertainty": reads.uncertainty,
          "masks": reads.masks, "camera": reads.camera,
          "calibration_rows": calibration_rows,
          "weights_chosen_on": reads.weights_chosen_on}


def records(input_2d: str, reads: Reads, figures: Mapping[str, Any]) -> dict:
  """{"test_inputs": ...} of a task's results `figures`, and
  {BASELINE: ...} (with `BASELINE_FIGURES`) when `reads` has a baseline."""
  out = {"test_inputs": record(input_2d, reads, calibration_rows(figures))}
  if reads.baseline is not None:
    out[BASELINE] = dict(record(input_2d, reads.baseline),
                         **{BASELINE_FIGURES: reads.baseline_figures})
  return out


def calibration_rows(figures: Mapping[str, Any]) -> str:
  """The rows that fitted the calibration applied to a task's hypotheses
  (its `calibration_after`, `calibration.store.applied`), or "" when none
  was applied."""
  after = figures.get("calibration_after")
  if not isinstance(after, Mapping):
    return ""
  fitted = (after.get("calibration") or {}).get("fitted_on") or {}
  rows = ("a sibling workdir's held-out training rows (eval.calibration_from)"
          if fitted.get("borrowed_from") else
          "this model's held-out training rows")
  return f"{rows}, {fitted['input_2d']} 2D" if fitted.get("input_2d") else rows


def _value(inputs: Mapping[str, Any], field: str) -> str:
  value = inputs.get(field)
  return NONE if value in _NOTHING else str(value)


def sees_more(method: Mapping[str, Any], baseline: Mapping[str, Any]
              ) -> list[str]:
  """What `method` receives at test time that `baseline` does not.

  Args:
    method, baseline: `test_inputs` records; a field a record lacks (or
      leaves "") counts as "none".

  Returns:
    One line per field where the method receives something and the
    baseline receives nothing or something else, e.g. "uncertainty:
    pose2d_sigma (...), baseline: none"; empty when the baseline receives
    all the method does.
  """
  out = []
  for field in FIELDS:
    ours, theirs = _value(method, field), _value(baseline, field)
    if ours != NONE and ours != theirs:
      out.append(f"{field}: {ours}, baseline: {theirs}")
  return out


def like_for_like(method: Mapping[str, Any], baseline: Mapping[str, Any]
                  ) -> bool:
  """Whether both sides receive the same (`sees_more` empty both ways)."""
  return not sees_more(method, baseline) and not sees_more(baseline, method)


__all__ = ["NONE", "FIELDS", "BASELINE", "BASELINE_FIGURES", "Reads",
           "record", "records", "calibration_rows", "sees_more",
           "like_for_like"]
