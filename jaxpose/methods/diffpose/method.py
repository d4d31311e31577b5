"""DiffPose (Gong et al., CVPR 2023) behind the method interface.

3D pose estimation as reverse diffusion from an indeterminate pose
distribution H_K to a determinate one, conditioned on a frozen context
encoder (`encoder`):

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

State that travels with the checkpoints: the fitted H_K, written to
WORKDIR/diffpose_initial.npz when training starts (`use_workdir`) and read
back at evaluation; its SHA-1 and the encoder parameters' SHA-1 are part of
the checkpoint fingerprint (`fingerprint_extra`), so a workdir trained with
another fit or another encoder is refused rather than mixed.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import functools
import os

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose import models
from jaxpose import rng
from jaxpose.core import losses
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.evaluation import chunks
from jaxpose.evaluation import config as eval_config_lib
from jaxpose.methods import lifting
from jaxpose.methods import register
from jaxpose.methods.diffpose import encoder as encoder_lib
from jaxpose.methods.diffpose import eval_tasks
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.methods.diffpose import process

INITIALS = ("mixture", "standard")
# eval.start -> sampling.Problem.start ('initial' starts at t = 1, step K)
STARTS = {"initial": "prior", "centre": "x_init", "diffuse": "diffuse"}
# Fields the encoder adds to every split (model units).
ENCODED_FIELDS = ("enc_features", "enc_pose3d", "target2d")


@dataclasses.dataclass(frozen=True)
class DiffPoseEvalOptions:
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
  """
  sampler: str
  num_steps: int
  num_hypotheses: int
  hypotheses_list: tuple[int, ...]
  start: str
  start_step: int
  batch_poses: int

  def __post_init__(self):
    at_least = eval_config_lib.require_at_least
    for name in ("num_steps", "num_hypotheses", "hypotheses_list", "batch_poses"):
      at_least(name, getattr(self, name), 1)
    at_least("start_step", self.start_step, -1)
    if self.start not in STARTS:
      raise eval_config_lib.EvalConfigError(
          f"eval.start: expected one of {', '.join(STARTS)}, got {self.start!r}")
    sampling.check_spec(self.sampler)


class _EncodedSplit(collections.abc.Mapping):
  """A split's rows plus the encoder's fields, computed on first access.

  Evaluation touches the training split only for fields it already has, so
  the encoder runs over the training rows only when training needs them.
  `fields` (from `encode()`) take precedence over the rows' own.
  """

  def __init__(self, rows: dict, encode, fields: tuple[str, ...]):
    self._rows = rows
    self._encode = encode  # () -> {field: [N, ...]}
    self._fields = tuple(fields)
    self._encoded = None

  def __getitem__(self, key):
    if key in self._fields:
      if self._encoded is None:
        self._encoded = self._encode()
      return self._encoded[key]
    return self._rows[key]

  def __iter__(self):
    yield from self._rows
    yield from (k for k in self._fields if k not in self._rows)

  def __len__(self):
    return len(set(self._rows) | set(self._fields))


@register("diffpose")
class DiffPose(lifting.LiftingMethod):
  """DiffPose: reverse diffusion from H_K, conditioned on a frozen encoder."""

  fingerprint_sections = ("method", "model", "sde", "representation")
  train_fields = ("pose3d", "pose2d") + ENCODED_FIELDS
  EvalOptions = DiffPoseEvalOptions

  def __init__(self, config):
    super().__init__(config)
    if self.representation.space != "root_relative":
      raise ValueError(
          "representation.space: DiffPose works in 'root_relative' model "
          f"units (the paper's), got {self.representation.space!r}")
    dp = config.diffpose
    if dp.initial not in INITIALS:
      raise ValueError(f"diffpose.initial: expected one of {INITIALS}, got "
                       f"{dp.initial!r}")
    if dp.noise_2d not in initial_lib.NOISE_2D_SOURCES:
      raise ValueError(f"diffpose.noise_2d: expected one of "
                       f"{initial_lib.NOISE_2D_SOURCES}, got {dp.noise_2d!r}")
    checks.check_positive_int("diffpose.num_kernels", dp.num_kernels)
    checks.check_nonnegative_int("diffpose.fit_rows", dp.fit_rows)
    if not isinstance(dp.noisy_train_2d, bool):
      raise ValueError(f"diffpose.noisy_train_2d: expected True or False, got "
                       f"{dp.noisy_train_2d!r}")
    if dp.network_input not in process.NETWORK_INPUTS:
      raise ValueError(f"diffpose.network_input: expected one of "
                       f"{process.NETWORK_INPUTS}, got {dp.network_input!r}")
    checks.check_positive_int("diffpose.encoder_batch_size",
                              dp.encoder_batch_size)
    if config.sde.name != "discrete_vp":
      raise ValueError("sde.name: DiffPose diffuses on a DDPM chain, "
                       f"'discrete_vp'; got {config.sde.name!r}")
    self.sde = sde_lib.get_sde(
        "discrete_vp", **{k: v for k, v in config.sde.items() if k != "name"})
    opts = self.eval_options
    if opts.start_step >= self.sde.num_steps:
      raise eval_config_lib.EvalConfigError(
          f"eval.start_step: expected -1 or a step in 0..{self.sde.num_steps - 1} "
          f"(sde.num_steps={self.sde.num_steps}), got {opts.start_step}")
    self._model_kwargs = {k: v for k, v in config.model.items() if k != "name"}
    self._model_kwargs.update(num_joints=self.representation.num_joints,
                              state_dim=process.STATE_DIM,
                              time_scale=float(self.sde.num_steps))
    self._initial = None  # H_K: the workdir's, or fitted on first use
    self._samplers = {}

  # --- The frozen encoder and its outputs. ---

  @functools.cached_property
  def encoder(self) -> encoder_lib.FrozenEncoder:
    return encoder_lib.load(str(self.config.diffpose.encoder_workdir), self.config)

  def encode_rows(self, rows, *, target2d=None) -> dict:
    """The encoder's fields of split rows: features, 3D, and h_0's 2D.

    Args:
      rows: split rows ('pose2d' [N, J, 2] model units, the observed 2D,
        and what the encoder reads besides, e.g. clip and frame).
      target2d: h_0's 2D `[N, J, 2]`; None: the exact 2D where the rows
        hold it (`pose2d_exact`), else their `pose2d`.
    """
    checks.check_array("pose2d", rows["pose2d"],
                       ("N", self.representation.num_joints, 2))
    features, pose3d = self.encoder.encode(
        rows, batch_size=int(self.config.diffpose.encoder_batch_size))
    if target2d is None and "pose2d_exact" in rows:
      target2d = self.representation.pose2d_to_model(
          np.asarray(rows["pose2d_exact"], np.float32))
    elif target2d is None:
      target2d = rows["pose2d"]
    return dict(enc_features=features, enc_pose3d=pose3d,
                target2d=np.asarray(target2d, np.float32))

  def _keys(self):
    """(fit rows, 2D noise of the fit, EM start, 2D noise of training)."""
    return jax.random.split(rng.purpose_key(self.config.seed, "fit"), 4)

  def _encode_split(self, name: str, rows) -> dict:
    dp = self.config.diffpose
    if name != "train":
      return self.encode_rows(rows)
    self.encoder.check_training_data(self.config)
    if not dp.noisy_train_2d:
      return self.encode_rows(rows)
    # Training sees the 2D noise model: the encoder's features and the
    # centre come from noisy 2D, h_0 keeps the exact 2D.
    clean, noisy = initial_lib.clean_and_noisy_2d(
        self._keys()[3], rows, self.representation, source=dp.noise_2d,
        sigma_px=float(dp.noise_2d_px))
    fields = self.encode_rows(dict(rows, pose2d=noisy), target2d=clean)
    return dict(fields, pose2d=noisy)

  @functools.cached_property
  def _encoded_splits(self):
    noisy = bool(self.config.diffpose.noisy_train_2d)
    def make(name, rows):
      def encode():
        logging.info("DiffPose: encoding the %s split (%d rows) with the "
                     "frozen encoder", name, len(rows["pose2d"]))
        return self._encode_split(name, rows)
      fields = ENCODED_FIELDS + (("pose2d",) if noisy and name == "train" else ())
      return _EncodedSplit(rows, encode, fields)
    return {name: make(name, rows) for name, rows in self._data[2].items()}

  @property
  def splits(self):
    return self._encoded_splits

  # --- H_K: fitted once, kept beside the checkpoints. ---

  def _initial_settings(self) -> dict:
    dp = self.config.diffpose
    keys = ("initial", "num_kernels", "noise_2d", "noise_2d_px",
            "noisy_train_2d", "scale_3d", "fit_rows", "gmm_max_iters",
            "gmm_tol", "gmm_reg")
    return {k: dp[k] for k in keys} | {"seed": int(self.config.seed)}

  def fit_initial(self) -> initial_lib.Initial:
    """Fits H_K on training rows (the encoder's held-out ones if it has any).

    Raises:
      gmm.GMMFitError: the mixture fit did not converge (nothing written).
    """
    dp = self.config.diffpose
    train = self.splits["train"]
    n = len(train["pose2d"])
    k_rows, k_noise, k_em, _ = self._keys()
    held = self.encoder.heldout_train_rows(train)
    pool = np.arange(n) if held is None else held
    if held is None:
      logging.warning("DiffPose: the encoder names no held-out training rows; "
                      "H_K is fitted on rows it was trained on, where its "
                      "error is smaller than on new poses")
    if dp.fit_rows and len(pool) > dp.fit_rows:
      pool = np.sort(np.asarray(jax.random.choice(
          k_rows, pool, (int(dp.fit_rows),), replace=False)))
    rows = {k: np.asarray(train[k])[pool] for k in
            ("pose2d", "pose3d", "enc_pose3d", "target2d", "pose2d_screen",
             "intrinsics", "pose2d_exact", "pose2d_noisy") if k in train}
    if dp.noisy_train_2d:  # the noise the training rows carry
      err2d = rows["target2d"] - rows["pose2d"]
    else:
      clean, noisy = initial_lib.clean_and_noisy_2d(
          k_noise, rows, self.representation, source=dp.noise_2d,
          sigma_px=float(dp.noise_2d_px))
      err2d = clean - noisy
    err3d = rows["pose3d"] - rows["enc_pose3d"]
    error = np.concatenate([err2d, err3d], axis=-1)  # [n, J, 5]
    info = dict(settings=self._initial_settings(),
                encoder_workdir=self.encoder.workdir,
                encoder_sha1=self.encoder.sha1(),
                fit_rows_seen_by_encoder=held is None)
    if dp.initial == "standard":
      return initial_lib.standard_initial(error, scale_3d=float(dp.scale_3d),
                                          floor=float(dp.gmm_reg) ** 0.5,
                                          info=info)
    return initial_lib.fit_initial(k_em, error, int(dp.num_kernels),
                                   max_iters=int(dp.gmm_max_iters),
                                   tol=float(dp.gmm_tol), reg=float(dp.gmm_reg),
                                   info=info)

  def use_workdir(self, workdir: str, *, training: bool):
    """Reads (or, starting a training, fits and writes) the workdir's H_K.

    The file is written before the checkpointer compares fingerprints, so a
    DiffPose training pointed at another model's workdir leaves it there
    (and is then refused).  Training on with a file fitted with other
    settings or another encoder is refused here, naming them.
    """
    path = os.path.join(workdir, initial_lib.FILE_NAME)
    if training and not os.path.exists(path):
      fitted = self.fit_initial()  # raises before anything is written
      if jax.process_index() == 0:
        fitted.save(path)
      logging.info("DiffPose: fitted H_K (%s, M=%d, %d rows) -> %s",
                   fitted.info["kind"], fitted.num_kernels,
                   fitted.info["num_rows"], path)
    loaded = initial_lib.Initial.load(path)
    if training:
      ours = dict(self._initial_settings(), encoder_sha1=self.encoder.sha1())
      theirs = dict(loaded.info.get("settings") or {},
                    encoder_sha1=loaded.info.get("encoder_sha1"))
      diffs = [f"{k}: {theirs.get(k)!r} in the file, {ours.get(k)!r} here"
               for k in sorted(set(ours) | set(theirs))
               if ours.get(k) != theirs.get(k)]
      if diffs:
        raise ValueError(
            f"{path} was fitted with other settings or another encoder "
            f"({'; '.join(diffs)}); use a new workdir, the original settings, "
            "or delete the file to fit again (only if no checkpoint was "
            "trained with it)")
    self._initial = loaded

  @property
  def initial(self) -> initial_lib.Initial:
    """H_K: the workdir's (after `use_workdir`), else fitted in memory."""
    if self._initial is None:
      self._initial = self.fit_initial()
    return self._initial

  @property
  def forward_process(self) -> process.MixtureProcess:
    return process.MixtureProcess(sde=self.sde, mixture=self.initial.to_prior(),
                                  centred=self.initial.centred)

  def fingerprint_extra(self) -> dict:
    extra = {"initial_sha1": self.initial.sha1(),
             "encoder_sha1": self.encoder.sha1()}
    # Named only off the paper's input, so workdirs trained before the
    # option still match.
    if self.config.diffpose.network_input != "state":
      extra["network_input"] = str(self.config.diffpose.network_input)
    return {"diffpose": extra}

  def checkpoint_extra(self) -> dict:
    extra = super().checkpoint_extra()
    extra["diffpose_initial"] = dict(file=initial_lib.FILE_NAME,
                                     sha1=self.initial.sha1(),
                                     info=self.initial.info)
    return extra

  # --- Networks and training. ---

  @functools.cached_property
  def _net(self):
    kwargs = dict(self._model_kwargs, cond_dim=self.encoder.feature_dim)
    graphdef = models.model_graphdef(self.config.model.name, **kwargs)
    return kwargs, models.make_apply(graphdef)

  @property
  def apply_fn(self):
    """The denoiser `apply_fn(params, x, t, features, *, train, dropout_key)`."""
    return self._net[1]

  @functools.cached_property
  def noise_fn(self):
    """`noise_fn(params, h, t, cond: process.Condition, **kw)`, reading
    what `diffpose.network_input` says of the state."""
    return process.make_noise_fn(
        self.apply_fn, network_input=str(self.config.diffpose.network_input))

  @functools.cached_property
  def score_fn(self):
    return process.make_score_fn(self.noise_fn, self.sde)

  def init_params(self, key):
    return models.create_model(self.config.model.name, key=key,
                               **self._net[0])[1]

  def loss_fn(self):
    """Noise-prediction MSE of the mixture-shaped forward process.

    batch: the train fields; h_0 = [target2d, pose3d], centre = [pose2d,
    enc_pose3d], each row's kernel drawn from the step key.
    """
    proc, noise_fn, sde = self.forward_process, self.noise_fn, self.sde
    reduce = str(self.config.train.loss_reduce)

    def loss_fn(params, batch, key):
      k_kernel, k_dsm = jax.random.split(key)
      h0 = process.make_state(batch["target2d"], batch["pose3d"])
      centre = process.make_state(batch["pose2d"], batch["enc_pose3d"])
      prior = proc.draw(k_kernel, centre)
      cond = process.Condition.of(batch["enc_features"], prior, centre)
      return losses.dsm_loss(params, h0, cond, k_dsm, apply_fn=noise_fn,
                             sde=sde, eps=None, reduce=reduce, train=True,
                             prior=prior)

    return loss_fn

  # --- Sampling. ---

  def start_step(self) -> int:
    """The step 'centre'/'diffuse' starts from (eval.start_step, or matched)."""
    opts = self.eval_options
    if opts.start_step >= 0:
      return opts.start_step
    init = self.initial
    scale = float(np.sum(init.weights[:, None] * init.scales[..., 2:].mean(
        axis=(1, 2))[:, None]))
    return initial_lib.match_start_step(self.sde, init.info["rms_3d"], scale)

  def _hypotheses_fn(self, spec: str, num_steps: int, num_hypotheses: int,
                     start: str):
    """Memoised jitted `(params, key, features, centre, t_start) -> [H, B, J, 5]`."""
    key = (spec, num_steps, num_hypotheses, start, self.initial.sha1())
    if key not in self._samplers:
      sampler = sampling.make_sampler(spec, self.sde, self.score_fn,
                                      num_steps=num_steps, eps=0.0)
      fn = process.make_hypotheses_fn(sampler, self.forward_process,
                                      num_hypotheses, STARTS[start])
      self._samplers[key] = jax.jit(fn)
    return self._samplers[key]

  def sample_states(self, params, key, rows, *, num_hypotheses: int,
                    num_steps: int | None = None, start: str | None = None,
                    desc: str = "diffpose") -> np.ndarray:
    """N hypotheses of the state per row, `[N, R, J, 5]` model units.

    Args:
      params: the denoiser's parameters.
      key: hypothesis h of chunk i uses `split(fold_in(key, i), N)[h]`.
      rows: `pose2d` [R, J, 2] and the encoder's `enc_features`,
        `enc_pose3d` (an encoded split's rows, or `encode_rows`' output
        beside `pose2d`).
      num_hypotheses: N.
      num_steps, start: default to the eval options'.
    """
    opts = self.eval_options
    num_steps = opts.num_steps if num_steps is None else int(num_steps)
    start = opts.start if start is None else start
    sizes = {}
    joints = self.representation.num_joints
    checks.check_array("pose2d", rows["pose2d"], ("R", joints, 2), sizes=sizes)
    checks.check_array("enc_pose3d", rows["enc_pose3d"], ("R", joints, 3),
                       sizes=sizes)
    checks.check_array("enc_features", rows["enc_features"], ("R", joints, None),
                       sizes=sizes)
    centre = np.concatenate([rows["pose2d"], rows["enc_pose3d"]], -1)
    t_start = (1.0 if start == "initial"
               else float(self.sde.time(self.start_step())))
    fn = self._hypotheses_fn(opts.sampler, num_steps, int(num_hypotheses), start)
    return chunks.map_chunks(
        lambda c, i: fn(params, jax.random.fold_in(key, i), c["features"],
                        c["centre"], jnp.float32(t_start)),
        {"features": np.asarray(rows["enc_features"], np.float32),
         "centre": centre.astype(np.float32)},
        chunk_size=min(opts.batch_poses, sizes["R"]), row_axis=1, desc=desc)

  def states_to_mm(self, states) -> np.ndarray:
    """States `[..., J, 5]` -> their 3D in root-relative mm `[..., J, 3]`.

    The root is re-centred, as the released evaluation does: the truth
    puts it at 0, and the state's 3D is relative only up to the noise.
    """
    pose3d = np.asarray(states)[..., 2:]
    pose3d = pose3d - pose3d[..., :1, :]
    return np.asarray(self.representation.pose3d_from_model(pose3d), np.float32)

  # --- Evaluation. ---

  def eval_tasks(self):
    return {"estimate": functools.partial(eval_tasks.estimate, self)}


__all__ = ["DiffPose", "DiffPoseEvalOptions", "INITIALS", "STARTS"]
