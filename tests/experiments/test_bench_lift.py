"""experiments/bench/lift.py: the keypoints repeated to a video's length,
frames and scores in their order, again and again."""
import numpy as np

from experiments.bench import lift as bench_lift


def test_repeated_keypoints(tmp_path):
  kp = np.arange(3 * 17 * 2, dtype=np.float64).reshape(3, 17, 2)
  scores = np.arange(3 * 17, dtype=np.float64).reshape(3, 17) / 100
  np.savez(tmp_path / "k.npz", keypoints=kp, scores=scores,
           image_size=np.array([640, 480]))
  out = bench_lift.repeated_keypoints(str(tmp_path / "k.npz"), 7,
                                      str(tmp_path / "v.npz"))
  with np.load(out) as v:
    np.testing.assert_array_equal(v["keypoints"], kp[[0, 1, 2, 0, 1, 2, 0]])
    np.testing.assert_array_equal(v["scores"], scores[[0, 1, 2, 0, 1, 2, 0]])
    np.testing.assert_array_equal(v["image_size"], [640, 480])
