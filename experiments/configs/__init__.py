"""Configs as code, one module per setup (`--config=experiments/configs/
NAME.py`). `generic_eval` is the evaluation section every method's config
starts from: the keys of `jaxpose.evaluation.config.EvalConfig`, spelt
once here, and the method's own keys beside them."""
import ml_collections


def generic_eval(*, task: str, num_poses: int, plot_poses: int,
                 plot_hypotheses: int, **method_keys
                 ) -> ml_collections.ConfigDict:
  """`config.eval`: the generic keys at their usual values, then the
  method's (`method_keys`: its `EvalOptions` and tasks' groups)."""
  return ml_collections.ConfigDict(dict(
      task=task, num_poses=num_poses, use_ema=True, plot_poses=plot_poses,
      plot_hypotheses=plot_hypotheses,
      # Appended to eval/<task>.json names, e.g. "noisy2d".
      output_suffix="",
      # '' = WORKDIR/eval (WORKDIR/eval/<dataset> for other data than the
      # training data); save_predictions writes <task>_predictions.npz.
      output_dir="", save_predictions=False,
      # Apply WORKDIR/calibration.json (--mode=calibrate) when it exists.
      apply_calibration=True, calibration_from="", calibration_2d="",
      # rows='heldout' scores the held-out training rows; overwrite=True
      # writes over an earlier evaluation with other settings (False: this
      # one goes beside it, named by what differs).
      rows="test", overwrite=False,
      # 'bfloat16': the score network's dense products in bfloat16 while
      # sampling (float32 accumulation; measured in experiments.bench.precision).
      matmul_dtype="float32", **method_keys))
