"""Config defaults that changed after results were written with the old
ones. A page prints each such file's command with the old default restated,
so that the command still gives what the file holds."""
from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class DefaultChange:
  """config: the config file as commands name it, for its default variant
  (a command naming 'x.py:variant' is left as it is). flag: the flag that
  gives the old default. files: the results files (under
  experiments/results/) written under the old default."""
  config: str
  flag: str
  files: frozenset[str]

  @property
  def key(self) -> str:
    return self.flag.split("=", 1)[0]


_DPOSER_UNMIRRORED = frozenset(
    f"dposer_mocap_{name}.json" for name in (
        "small_v2_borrowed001_006_cpu_seeds_complete",
        "small_v2_borrowed001_006_cpu_seeds_complete_by_subject",
        "small_v2_cpu_budget", "small_v2_cpu_denoise_motion",
        "small_v2_cpu_denoise_motion_released", "small_v2_cpu_fit2d",
        "small_v2_cpu_seeds_complete", "small_v2_cpu_seeds_denoise_motion",
        "small_v2_cpu_seeds_denoise_motion_released",
        "small_v2_cpu_seeds_denoise_motion_released_w1",
        "small_v2_cpu_weights_heldout",
        "small_v2_cpu_weights_heldout_released",
        "small_v2_nocmu_cpu_seeds_denoise_motion_released_w1",
        "small_v2_subject006_cpu_seeds_complete",
        "small_v2_subjects001_006_cpu_seeds_complete",
        "small_v2_subjects001_006_cpu_seeds_complete_by_subject",
        "small_v2_subjects001_006_cpu_seeds_novelty",
        "small_v2_subjects4_cpu_novelty",
        "small_v2_subjects4_cpu_seeds_novelty",
        "small_v2_tenth_cpu_seeds_complete", "wide_v2_cpu_budget"))

DEFAULTS_CHANGED = (
    # DPoser on mocap trains on mirrored poses by default since 2026-11-28.
    DefaultChange("dposer_mocap.py", "--config.train.mirror=0",
                  _DPOSER_UNMIRRORED),
)


def restated(file: str, command: str,
             changes: tuple[DefaultChange, ...] = DEFAULTS_CHANGED) -> str:
  """`command` (which wrote results `file`) with the old default of each
  change that predates the file put after each naming of its config,
  unless the command sets that key itself."""
  for change in changes:
    if file not in change.files or change.key in command:
      continue
    command = re.sub(rf"{re.escape(change.config)}(?![\w:])",
                     lambda m, flag=change.flag: f"{m.group(0)} {flag}",
                     command)
  return command


__all__ = ["DefaultChange", "DEFAULTS_CHANGED", "restated"]
