"""Reference-free figures of a motion, on hand-made motions with known
answers."""
import numpy as np

from jaxpose.pose import motion_quality as mq
from jaxpose.pose.skeleton import H36M_17


def _body():
  rng = np.random.default_rng(0)
  pose = rng.normal(0, 200, (17, 3))
  # Make it left/right symmetric: the right joints mirror the left in x.
  mirror = np.array([-1.0, 1.0, 1.0])
  for l, r in zip(H36M_17.left, H36M_17.right):
    pose[r] = pose[l] * mirror
  for j in (0, 7, 8, 9, 10):
    pose[j, 0] = 0.0
  return pose


def test_a_rigid_symmetric_body_moving_uniformly_scores_zero():
  t = np.arange(20)[:, None, None]
  motion = _body()[None] + t * np.array([5.0, 0.0, 0.0])  # 5 mm a frame
  assert mq.bone_length_variation(motion) < 1e-12
  assert mq.asymmetry(motion) < 1e-12
  assert mq.acceleration(motion, fps=30) < 1e-9
  assert abs(mq.total_bone_length(motion) - mq.bone_lengths(motion)[0].sum()
             ) < 1e-9


def test_known_departures_give_known_figures():
  body = _body()
  motion = np.stack([body, body * 1.1, body])  # every bone 10% longer once
  lengths = mq.bone_lengths(motion)
  want = np.mean(lengths.std(0) / lengths.mean(0))
  np.testing.assert_allclose(mq.bone_length_variation(motion), want)
  # Joint 5 (l_knee) 3 mm off in the middle frame: |x0 - 2 x1 + x2| = 6 mm
  # for that joint alone, the mean over 17 joints times fps^2.
  still = np.stack([body] * 3)
  still[1, 5, 0] += 3.0
  np.testing.assert_allclose(mq.acceleration(still, fps=10),
                             6.0 / 17 * 100)
  # The left thigh twice the right's length: |2 - 1| / 1.5 on one of six
  # pairs.
  lopsided = body.copy()
  lopsided[5] = lopsided[4] + 2 * (body[5] - body[4])
  lopsided[6] = lopsided[5] + (body[6] - body[5])
  thigh = np.linalg.norm(body[5] - body[4])
  assert abs(mq.asymmetry(lopsided[None]) - (thigh / (1.5 * thigh)) / 6) < 1e-9


def test_reprojection_of_the_points_own_projection_is_zero():
  motion = _body()[None] + [0, 0, 4000.0]
  intr = (1000.0, 1000.0, 500.0, 400.0)
  px = np.stack([1000 * motion[..., 0] / motion[..., 2] + 500,
                 1000 * motion[..., 1] / motion[..., 2] + 400], -1)
  visible = np.ones((1, 17), bool)
  assert mq.reprojection_px(motion, px, visible, intr) < 1e-9
  px[0, :, 0] += 7.0
  np.testing.assert_allclose(mq.reprojection_px(motion, px, visible, intr),
                             7.0)
