"""DiffPose's settings and model: reverse diffusion from H_K to a pose.

  rows -> encoder -> features [N, J, F], 3D [N, J, 3]
  centre = [observed 2D, encoder 3D]             # [N, J, 5], model units
  H_K = centre + mixture of the error on training rows  (`initial`)
  training: h_0 = [exact 2D, true 3D], kernel drawn per row, h_k by the
    mixture-shaped forward process (`process`), noise-prediction MSE
    (`core.losses.dsm_loss` with the drawn kernel as its prior)
  test: N hypotheses, each its own kernel draw and start h_K ~ H_K, DDIM
    down to h_0; the 3D of their mean and the best of N are scored
  the denoiser reads h_k, h_k - centre or h_k in the drawn kernel's frame
    (`diffpose.network_input`: 'state', 'residual', 'standardised')

The released code's refiner is the same machinery with the standard prior
(`diffpose.initial='standard'`), the tiny 51-step schedule and
`eval.start='centre'` (experiments/configs/diffpose_released.py).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose import models
from jaxpose import settings
from jaxpose.core import losses
from jaxpose.core import sampling
from jaxpose.core import sde_spec
from jaxpose.evaluation import chunks
from jaxpose.evaluation import config as eval_config
from jaxpose.methods import base
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.methods.diffpose import process
from jaxpose.pose import image_space
from jaxpose.pose import representation as rep_lib
from jaxpose.training import holdout as holdout_lib

# eval.start -> sampling.Problem.start ('initial' starts at t = 1, step K)
STARTS = {"initial": "prior", "centre": "x_init", "diffuse": "diffuse"}


@dataclasses.dataclass(frozen=True)
class DiffPoseSection:
  """`config.diffpose`: the encoder, H_K and what the denoiser reads.

  Attributes:
    encoder_workdir: a trained context encoder (a baseline workdir with a
      graph_lifter or temporal_lifter network on this data).
    encoder_batch_size: rows per compiled call of the encoder.
    initial: H_K: 'mixture' (the paper: kernels around each row's centre)
      or 'standard' (the released code: N(0, diag) around 0).
    num_kernels: M, the mixture's kernels (1: a single Gaussian).
    noise_2d: the 2D noise model: 'px' (Gaussian, noise_2d_px pixels per
      axis; 0: exact 2D) or 'data' (the rows' own noisy-minus-exact 2D).
    noise_2d_px: its sigma in pixels.
    noisy_train_2d: train on 2D under that noise model (the encoder's
      features and the centre from noisy 2D, h_0 with the exact 2D).
    scale_3d: the standard prior's std on x, y, z.
    network_input: what the denoiser reads of h_k (`process.NETWORK_INPUTS`).
    fit_rows: training rows the mixture is fitted on (a random subset; 0:
      all).
    gmm_max_iters, gmm_tol, gmm_reg: EM's settings (`core.gmm.fit_gmm`).
    output_root: how the sampled 3D is made root-relative for scoring:
      'subtracted' (minus its root joint) or 'zeroed' (the root set to 0,
      the other joints as sampled: the released code's in-place
      re-centring as PyTorch computes it, `models.context_encoder`).
    initial_scope: 'global' (one H_K for every row) or 'per_row' (each
      row's kernels shaped by its own 2D uncertainty, `rows.py`).
    row_uncertainty: what a per-row H_K reads of each row: 'confidence'
      (the default: `pose2d_confidence`, a detector's score, calibrated on
      the fit rows) or 'sigma' (the dataset's `pose2d_sigma`, a keypoint's
      noise std as the noise model drew it: an oracle no detector gives,
      for ablations).
    kernel_input: what the denoiser is told of the drawn kernel
      (`process.KERNEL_INPUTS`): 'none', 'index' (its one-hot) or
      'index_scale' (and its log std per joint).
    seen_fit_rows: an encoder without held-out rows: 'refuse' (an error)
      or 'warn' (H_K fitted on rows it was trained on, where its error is
      smaller; recorded as `fit_rows_seen_by_encoder` in H_K and the eval
      JSON).
    Their defaults keep workdirs made before these keys as they were
    ('refuse' acts only where H_K is fitted: a new workdir).
  """
  encoder_workdir: str
  encoder_batch_size: int = settings.field(at_least=1)
  initial: Literal["mixture", "standard"]
  num_kernels: int = settings.field(at_least=1)
  noise_2d: Literal["data", "px"]
  noise_2d_px: float = settings.field(at_least=0.0)
  noisy_train_2d: bool
  scale_3d: float = settings.field(above=0.0)
  network_input: str
  fit_rows: int = settings.field(at_least=0)
  gmm_max_iters: int = settings.field(at_least=1)
  gmm_tol: float = settings.field(above=0.0)
  gmm_reg: float = settings.field(at_least=0.0)
  output_root: Literal["subtracted", "zeroed"] = "subtracted"
  initial_scope: Literal["global", "per_row"] = "global"
  row_uncertainty: Literal["sigma", "confidence"] = "confidence"
  kernel_input: Literal["none", "index", "index_scale"] = "none"
  seen_fit_rows: Literal["refuse", "warn"] = "refuse"

  def __post_init__(self):
    settings.one_of("diffpose.network_input", self.network_input,
                    process.NETWORK_INPUTS)
    if self.initial_scope == "per_row" and self.initial != "mixture":
      raise settings.ConfigError(
          "diffpose.initial_scope='per_row' shapes the mixture's kernels per "
          f"row; diffpose.initial={self.initial!r} has none (use 'mixture')")


@dataclasses.dataclass(frozen=True)
class Sections:
  """DiffPose's own config sections."""
  representation: rep_lib.Representation
  model: models.NetworkSpec
  sde: sde_spec.SDESpec
  diffpose: DiffPoseSection
  # DiffPose's own held-out clips (`training.holdout`, of the encoder's
  # held-out rows when it has some): --mode=calibrate fits on them.
  holdout: holdout_lib.Holdout = holdout_lib.Holdout()


@dataclasses.dataclass(frozen=True)
class TrainOptions:
  """DiffPose's key of `train`: the loss's reduction over the J x 5 numbers."""
  loss_reduce: Literal["sum", "mean"]


@dataclasses.dataclass(frozen=True)
class EvalOptions:
  """DiffPose's own `config.eval` fields (values from the configs).

  Attributes:
    sampler: the reverse sampler spec ('ddim' is deterministic DDIM, the
      paper's and the released code's; 'ddim:eta=1' ancestral).
    num_steps: reverse steps at test (paper: 5 of K = 50; released: 1-2).
    num_hypotheses: N per pose (paper: 5), each with its own kernel draw.
    hypotheses_list: the N of the best-of-N curve.
    start: 'initial' (h_K drawn from H_K at step K, the paper), 'centre'
      (the row's centre taken as the state at `start_step`, the released
      refiner) or 'diffuse' (the centre diffused to `start_step`).
    start_step: the step k of 'centre'/'diffuse' (0..K-1); -1 matches the
      encoder's RMS 3D error on the fit rows (`initial.match_start_step`).
    batch_poses: poses per compiled sampling call.
    x0_clip, x0_clip_margin: keep DDIM's denoised h_0 (and the output)
      within the training rows' range of [u, v, x, y, z] per joint
      (`core.box`), widened by the margin times each channel's extent.
      The defaults (off, 0.1) are for workdirs whose config.json predates
      the keys; the configs give both.
  """
  sampler: str
  num_steps: int = settings.field(at_least=1)
  num_hypotheses: int = settings.field(at_least=1)
  hypotheses_list: tuple[int, ...] = settings.field(at_least=1)
  start: Literal["initial", "centre", "diffuse"]
  start_step: int = settings.field(at_least=-1)
  batch_poses: int = settings.field(at_least=1)
  x0_clip: bool = False
  x0_clip_margin: float = settings.field(default=0.1, at_least=0.0)

  def __post_init__(self):
    eval_config.check_sampler("sampler", self.sampler)


def check(run: base.RunSettings):
  """Settings that must agree across DiffPose's sections."""
  s = run.sections
  settings.one_of("representation.space", s.representation.space,
                  ("root_relative",))
  settings.one_of("sde.name", s.sde.name, ("discrete_vp",))
  num_steps = s.sde.kwargs.get("num_steps", 1000)
  if run.eval_options.start_step >= num_steps:
    raise settings.ConfigError(
        f"eval.start_step: expected -1 or a step in 0..{num_steps - 1} "
        f"(sde.num_steps={num_steps}), got {run.eval_options.start_step}")


@dataclasses.dataclass(frozen=True)
class DiffPoseModel:
  """DiffPose's denoiser, its process and H_K, as pure functions.

  Attributes:
    representation: mm <-> model units.
    sde: the DDPM chain.
    network: the denoiser.
    noise_fn: `noise_fn(params, h, t, cond: process.Condition, **kw)`.
    score_fn: the score of the diffused state.
    initial: the fitted H_K (the prepared artefact).
    train: the loss's settings.
  """
  representation: rep_lib.Representation
  sde: Any
  network: models.Network
  noise_fn: Any
  score_fn: Any
  initial: initial_lib.Initial
  train: TrainOptions
  output_root: str = "subtracted"
  # Jitted hypothesis programs by their settings (a cache, not state).
  _programs: dict = dataclasses.field(default_factory=dict, compare=False,
                                      repr=False)

  @property
  def forward_process(self) -> process.MixtureProcess:
    return process.MixtureProcess(sde=self.sde, mixture=self.initial.to_prior(),
                                  centred=self.initial.centred,
                                  rows=self.initial.row_scales())

  def init(self, key):
    return self.network.init(key)

  def loss(self, params, batch, key):
    """Noise-prediction MSE of the mixture-shaped forward process.

    batch: h_0 = [target2d, pose3d], centre = [pose2d, enc_pose3d], the
    encoder's features (and `unc2d` for a per-row H_K); each row's kernel
    drawn from the step key, its index in the condition.
    """
    k_kernel, k_dsm = jax.random.split(key)
    h0 = process.make_state(batch["target2d"], batch["pose3d"])
    centre = process.make_state(batch["pose2d"], batch["enc_pose3d"])
    kernel = self.forward_process.draw_kernel(k_kernel, centre,
                                              batch.get("unc2d"))
    cond = process.Condition.of(batch["enc_features"], kernel.prior, centre,
                                kernel.index)
    return losses.dsm_loss(params, h0, cond, k_dsm, apply_fn=self.noise_fn,
                           sde=self.sde, reduce=self.train.loss_reduce,
                           train=True, prior=kernel.prior)

  def start_step(self, opts: EvalOptions) -> int:
    """The step 'centre'/'diffuse' starts from (eval.start_step, or matched)."""
    if opts.start_step >= 0:
      return opts.start_step
    init = self.initial
    if "rms_3d" not in init.info:
      raise settings.ConfigError(
          "eval.start_step=-1 matches the encoder's error on H_K's fit rows, "
          "which this H_K does not record (an imported one); give a step")
    scale = float(np.sum(init.weights[:, None] * init.scales[..., 2:].mean(
        axis=(1, 2))[:, None]))
    return initial_lib.match_start_step(self.sde, init.info["rms_3d"], scale)

  def _hypotheses_fn(self, spec: str, num_steps: int, num_hypotheses: int,
                     start: str):
    """Jitted `(params, key, features, centre, t_start) -> [H, B, J, 5]`."""
    key = (spec, num_steps, num_hypotheses, start)
    if key not in self._programs:
      sampler = sampling.make_sampler(spec, self.sde, self.score_fn,
                                      num_steps=num_steps, eps=0.0)
      fn = process.make_hypotheses_fn(sampler, self.forward_process,
                                      num_hypotheses, STARTS[start])
      self._programs[key] = jax.jit(fn)
    return self._programs[key]

  def sample_states(self, params, key, rows, opts: EvalOptions, *,
                    num_hypotheses: int, desc: str = "diffpose",
                    x0_range=None) -> np.ndarray:
    """N hypotheses of the state per row, `[N, R, J, 5]` model units.

    Args:
      params: the denoiser's parameters.
      key: hypothesis h of chunk i uses `split(fold_in(key, i), N)[h]`.
      rows: `pose2d` [R, J, 2] and the encoder's `enc_features`,
        `enc_pose3d` (an encoded split's rows; `unc2d` [R, J] too for a
        per-row H_K).
      opts: the sampler, its steps, the start and the chunk size (halved
        while its program would not fit in memory, `chunks.fit_to_memory`).
      num_hypotheses: N.
      x0_range: a `core.box.Box` of the state h_0 (model units), or None.
    """
    sizes = {}
    joints = self.representation.num_joints
    checks.check_array("pose2d", rows["pose2d"], ("R", joints, 2), sizes=sizes)
    checks.check_array("enc_pose3d", rows["enc_pose3d"], ("R", joints, 3),
                       sizes=sizes)
    checks.check_array("enc_features", rows["enc_features"], ("R", joints, None),
                       sizes=sizes)
    centre = np.concatenate([rows["pose2d"], rows["enc_pose3d"]], -1)
    # float32, or float64 rows kept so (jax's x64 mode).
    dtype = np.float64 if centre.dtype == np.float64 else np.float32
    t_start = (1.0 if opts.start == "initial"
               else float(self.sde.time(self.start_step(opts))))
    fn = self._hypotheses_fn(opts.sampler, opts.num_steps, int(num_hypotheses),
                             opts.start)
    inputs = {"features": np.asarray(rows["enc_features"], dtype),
              "centre": centre.astype(dtype)}
    if self.initial.scope == "per_row":
      inputs["unc2d"] = checks.check_array(
          "unc2d", np.asarray(rows["unc2d"], dtype), ("R", joints),
          sizes=sizes)
    t_start = jnp.asarray(t_start, dtype)

    def arguments(chunk, index):
      return (params, jax.random.fold_in(key, index), chunk["features"],
              chunk["centre"], t_start, x0_range, chunk.get("unc2d"))

    def compile_for(size):
      example = {k: jnp.asarray(np.repeat(v[:1], size, 0))
                 for k, v in inputs.items()}
      return fn.lower(*arguments(example, 0)).compile()

    size, compiled = chunks.fit_to_memory(opts.batch_poses, sizes["R"],
                                          compile_for, desc=desc)
    return chunks.map_chunks(lambda c, i: compiled(*arguments(c, i)), inputs,
                             chunk_size=size, row_axis=1, desc=desc)

  def states_to_mm(self, states, rows=None) -> np.ndarray:
    """States `[..., J, 5]` -> their 3D in root-relative mm `[..., J, 3]`.

    The root is re-centred (`diffpose.output_root`), as the released
    evaluation does: the truth puts it at 0, the state's 3D only up to noise.

    rows: the states' rows (their last leading dim), whose cameras
    (`root_cam_mm`, `intrinsics`) turn camera 2D's 3D
    (`representation.input_2d='camera'`, which needs them) back into each
    row's own camera frame; unused otherwise.
    """
    pose3d = np.asarray(states)[..., 2:]
    if self.output_root == "zeroed":
      pose3d = pose3d.copy()
      pose3d[..., 0, :] = 0.0
    else:
      pose3d = pose3d - pose3d[..., :1, :]
    dtype = np.float64 if pose3d.dtype == np.float64 else np.float32
    meta = None if rows is None else image_space.camera_meta(rows)
    if meta is None and self.representation.needs_camera:
      raise ValueError(
          "states_to_mm: representation.input_2d="
          f"{self.representation.input_2d!r} turns the 3D back into each "
          "row's camera frame, which needs the rows' root_cam_mm and "
          "intrinsics (pass rows=)")
    return np.asarray(self.representation.pose3d_from_model(pose3d, meta),
                      dtype)


def build(run: base.RunSettings, prepared, needs) -> DiffPoseModel:
  s = run.sections
  sde = s.sde.build()
  fixed = dict(num_joints=s.representation.num_joints,
               state_dim=process.STATE_DIM, time_scale=float(sde.num_steps))
  # The condition is the encoder's features (and the drawn kernel, if
  # told), or none with model.cond_dim=0 (the released network's).
  initial = initial_lib.Initial.from_artefact(prepared[initial_lib.ARTEFACT])
  dp = s.diffpose
  if initial.scope != dp.initial_scope:
    raise settings.ConfigError(
        f"diffpose.initial_scope={dp.initial_scope!r}, but the prepared H_K "
        f"is {initial.scope!r}: it was made from other settings")
  if initial.scope == "per_row" and initial.info.get(
      "row_uncertainty", dp.row_uncertainty) != dp.row_uncertainty:
    raise settings.ConfigError(
        f"diffpose.row_uncertainty={dp.row_uncertainty!r}, but the prepared "
        f"H_K reads {initial.info['row_uncertainty']!r}")
  extra = process.kernel_channels(dp.kernel_input, initial.num_kernels)
  feature_dim = needs["encoder"].feature_dim + extra
  given = s.model.kwargs.get("cond_dim")
  if given is None:
    fixed["cond_dim"] = feature_dim
  elif given not in (0, feature_dim):
    raise settings.ConfigError(
        f"model.cond_dim={given}: expected 0 (no condition) or the "
        f"encoder's feature width {needs['encoder'].feature_dim} plus the "
        f"kernel's {extra} channels (diffpose.kernel_input="
        f"{dp.kernel_input!r}), {feature_dim} (or leave it out)")
  network = s.model.build(**fixed)

  def noise_fn_of(apply):
    return process.make_noise_fn(
        apply, network_input=dp.network_input,
        conditional=bool(network.abstract.cond_dim),
        kernel_input=dp.kernel_input, num_kernels=initial.num_kernels)

  # Sampling's dense products in eval.matmul_dtype (its layers' products);
  # the loss keeps float32.
  sampled = models.with_matmul_dtype(network, run.eval.matmul_dtype)
  return DiffPoseModel(
      representation=s.representation, sde=sde, network=network,
      noise_fn=noise_fn_of(network.apply),
      score_fn=process.make_score_fn(noise_fn_of(sampled.apply), sde),
      initial=initial, train=run.train_options,
      output_root=dp.output_root)


__all__ = ["STARTS", "DiffPoseSection", "Sections", "TrainOptions",
           "EvalOptions", "DiffPoseModel", "build", "check"]
