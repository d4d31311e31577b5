"""`data.keypoints`: detector keypoint files -> Human3.6M-17 pixels, checked
against hand-made poses written in each tool's format."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jaxpose.data import keypoints as kp_lib
from jaxpose.data.file_checks import FormatError
from jaxpose.pose.skeleton import H36M_17

J = {name: i for i, name in enumerate(H36M_17.joint_names)}
# One standing person in a 640 x 480 image, Human3.6M order, pixels.  The
# derived joints already obey the module's rules, so that every format built
# from it must read back to exactly this pose.
POSE = np.array([
    (320, 300),  # pelvis = midpoint of the hips
    (300, 300), (298, 360), (296, 420),  # r_hip, r_knee, r_ankle
    (340, 300), (342, 360), (344, 420),  # l_hip, l_knee, l_ankle
    (320, 250),  # spine = midpoint of pelvis and thorax
    (320, 200),  # thorax = midpoint of the shoulders
    (322, 170),  # neck = the nose
    (322, 150),  # head = 2 * midpoint of the eyes (322, 160) - nose
    (350, 200), (360, 250), (365, 290),  # l_shoulder, l_elbow, l_wrist
    (290, 200), (280, 250), (275, 290),  # r_shoulder, r_elbow, r_wrist
], float)
LIMBS = ("l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
         "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")
# The tools' joint orders, written out here rather than taken from the module.
COCO = ("nose", "l_eye", "r_eye", "l_ear", "r_ear") + LIMBS
BODY_25 = ("nose", "neck_base", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder",
           "l_elbow", "l_wrist", "mid_hip", "r_hip", "r_knee", "r_ankle", "l_hip",
           "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear", "l_big_toe",
           "l_small_toe", "l_heel", "r_big_toe", "r_small_toe", "r_heel")
MEDIAPIPE = ("nose", "l_eye_inner", "l_eye", "l_eye_outer", "r_eye_inner", "r_eye",
             "r_eye_outer", "l_ear", "r_ear", "mouth_left", "mouth_right",
             "l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
             "l_pinky", "r_pinky", "l_index", "r_index", "l_thumb", "r_thumb",
             "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "l_heel",
             "r_heel", "l_foot_index", "r_foot_index")


def _pose(t):
  """Frame t's H36M pose: POSE moved by whole pixels, so float32 is exact."""
  return POSE + [3 * t, -2 * t]


def _source(h36m, order, **extra):
  """The inverse of the module's map: a tool's joints [S, 2] from H36M joints.

  Shared joints are copied; the nose is H36M's neck; the eyes straddle the
  midpoint of head and nose (so 2 * mid(eyes) - nose = head); any other joint
  sits near the nose.  `extra` places named joints (e.g. BODY_25's mid_hip).
  """
  eyes = (h36m[J["head"]] + h36m[J["neck"]]) / 2
  named = {n: h36m[J[n]] for n in LIMBS}
  named.update(nose=h36m[J["neck"]], l_eye=eyes + [8, 0], r_eye=eyes - [8, 0],
               l_ear=eyes + [20, 4], r_ear=eyes - [20, -4], **extra)
  return np.array([named.get(n, h36m[J["neck"]] + [1, 1]) for n in order], float)


def _coco_person(t, score=0.9, flat=True, **fields):
  xys = np.concatenate([_source(_pose(t), COCO), np.full((17, 1), score)], axis=1)
  return dict(keypoints=xys.reshape(-1).tolist() if flat else xys.tolist(), **fields)


def _write(path, data):
  path.write_text(json.dumps(data))
  return path


def test_coco_frames_sorted_and_mapped(tmp_path):
  frames = [{"frame_id": t, "instances": [_coco_person(t, flat=t != 1)]}
            for t in (2, 0, 1)]  # out of order; frame 1 as [[x, y, s], ...]
  kp = kp_lib.load_keypoints(_write(tmp_path / "mmpose.json", frames))
  np.testing.assert_array_equal(kp.pixels, np.stack([_pose(t) for t in range(3)]))
  assert kp.pixels.dtype == np.float32 and kp.confidence.dtype == np.float32
  np.testing.assert_allclose(kp.confidence, 0.9)
  assert kp.visible.all() and kp.image_size is None and kp.num_frames == 3
  assert kp.info["format"] == "coco" and kp.info["layout"] == "coco"
  assert kp.info["person"] == "most confident per frame"
  assert kp.info["derived"] == {
      "pelvis": "midpoint of the hips", "thorax": "midpoint of the shoulders",
      "spine": "midpoint of pelvis and thorax", "neck": "the nose",
      "head": "2 * midpoint of the eyes - nose"}
  np.testing.assert_array_equal(kp.info["frame_ids"], [0, 1, 2])


def test_derived_joints_follow_the_rules_on_any_pose():
  rng = np.random.default_rng(0)
  xy = rng.uniform(0, 500, (4, 17, 2))
  score = rng.uniform(0.1, 1.0, (4, 17))
  px, conf, _ = kp_lib.to_h36m(xy, score, "coco")
  c = {n: i for i, n in enumerate(COCO)}
  mid = lambda a, b: (xy[:, c[a]] + xy[:, c[b]]) / 2
  low = lambda *names: np.min([score[:, c[n]] for n in names], axis=0)
  for name in LIMBS:
    np.testing.assert_array_equal(px[:, J[name]], xy[:, c[name]])
    np.testing.assert_array_equal(conf[:, J[name]], score[:, c[name]])
  pelvis, thorax = mid("l_hip", "r_hip"), mid("l_shoulder", "r_shoulder")
  np.testing.assert_allclose(px[:, J["pelvis"]], pelvis)
  np.testing.assert_allclose(px[:, J["thorax"]], thorax)
  np.testing.assert_allclose(px[:, J["spine"]], (pelvis + thorax) / 2)
  np.testing.assert_array_equal(px[:, J["neck"]], xy[:, c["nose"]])
  np.testing.assert_allclose(px[:, J["head"]], 2 * mid("l_eye", "r_eye") - xy[:, 0])
  np.testing.assert_array_equal(conf[:, J["pelvis"]], low("l_hip", "r_hip"))
  np.testing.assert_array_equal(conf[:, J["spine"]],
                                low("l_hip", "r_hip", "l_shoulder", "r_shoulder"))
  np.testing.assert_array_equal(conf[:, J["head"]], low("l_eye", "r_eye", "nose"))


def test_mmpose_predictions_with_separate_scores(tmp_path):
  def person(t, scores):
    return {"keypoints": _source(_pose(t), COCO).tolist(), "keypoint_scores": scores,
            "bbox": [[0, 0, 10, 10]], "bbox_score": 0.9}
  scores = np.linspace(0.4, 1.0, 17)
  info = [{"frame_id": t + 1, "instances": [person(t, scores.tolist())]} for t in range(2)]
  path = _write(tmp_path / "results_video.json",
                {"meta_info": {"dataset_name": "coco"}, "instance_info": info})
  kp = kp_lib.load_keypoints(path, image_size=(640, 480))
  np.testing.assert_array_equal(kp.pixels, np.stack([_pose(0), _pose(1)]))
  np.testing.assert_array_equal(kp.info["frame_ids"], [1, 2])
  assert kp.image_size == (640, 480)
  c = {n: i for i, n in enumerate(COCO)}
  np.testing.assert_allclose(kp.confidence[0, J["l_wrist"]], scores[c["l_wrist"]])
  np.testing.assert_allclose(kp.confidence[0, J["neck"]], scores[c["nose"]])
  info[1]["instances"][0]["keypoint_scores"] = scores[:16].tolist()
  _write(path, {"instance_info": info})
  with pytest.raises(kp_lib.KeypointsError, match=r"frame 2: 17 keypoints but 16"):
    kp_lib.load_keypoints(path)


def test_coco_results_style_keeps_tracks_apart(tmp_path):
  entries = []
  for t in range(4):  # track 7 in every frame, track 3 (more confident) in two
    entries.append(dict(image_id=f"{t:06d}.jpg", category_id=1, track_id=7,
                        score=0.8, **_coco_person(t, score=0.6)))
    if t in (1, 2):
      far = _coco_person(t + 40, score=0.95)
      entries.append(dict(image_id=f"{t:06d}.jpg", category_id=1, track_id=3, **far))
  path = _write(tmp_path / "results.json", entries)
  kp = kp_lib.load_keypoints(path)
  assert kp.info["person"] == "track 7" and kp.info["tracks"] == {7: 4, 3: 2}
  np.testing.assert_array_equal(kp.pixels, np.stack([_pose(t) for t in range(4)]))
  with pytest.raises(kp_lib.KeypointsError, match=r"results.json: frame 0: .*'mask'"):
    kp_lib.load_keypoints(path, person=3)  # track 3 is absent from frame 0
  kp = kp_lib.load_keypoints(path, person=3, empty_frames="mask")
  assert kp.info["person"] == "track 3" and kp.info["empty_frames"] == [0, 3]
  np.testing.assert_array_equal(kp.pixels[1:3], np.stack([_pose(41), _pose(42)]))
  assert not kp.visible[[0, 3]].any() and np.isnan(kp.pixels[[0, 3]]).all()
  with pytest.raises(kp_lib.KeypointsError, match=r"person=5: no such track.*\[3, 7\]"):
    kp_lib.load_keypoints(path, person=5)


def test_two_people_per_frame_with_idx(tmp_path):
  frames = [{"image_id": t, "people": [_coco_person(t + 40, idx=[2]),
                                       _coco_person(t, idx=[1])]} for t in range(3)]
  path = _write(tmp_path / "alphapose.json", frames)
  kp = kp_lib.load_keypoints(path, person=1)
  np.testing.assert_array_equal(kp.pixels, np.stack([_pose(t) for t in range(3)]))
  assert kp.info["person"] == "track 1"
  # Default on a tie (both in 3 frames): the track seen first.
  assert kp_lib.load_keypoints(path).info["person"] == "track 2"


def test_most_confident_person_without_ids(tmp_path):
  frames = []
  for t in range(3):
    mine, other = (0.9, 0.5) if t != 1 else (0.4, 0.7)
    frames.append({"frame": t, "predictions": [_coco_person(t + 40, score=other),
                                               _coco_person(t, score=mine)]})
  kp = kp_lib.load_keypoints(_write(tmp_path / "p.json", frames))
  assert kp.info["person"] == "most confident per frame" and kp.info["tracks"] == {}
  np.testing.assert_array_equal(kp.pixels[[0, 2]], np.stack([_pose(0), _pose(2)]))
  np.testing.assert_array_equal(kp.pixels[1], _pose(41))  # the other one won here
  with pytest.raises(kp_lib.KeypointsError, match="none \\(no track ids\\)"):
    kp_lib.load_keypoints(tmp_path / "p.json", person=1)


def _openpose_file(path, t, **extra):
  xy = _source(_pose(t), BODY_25, **extra)
  flat = np.concatenate([xy, np.full((25, 1), 0.8)], axis=1).reshape(-1)
  return _write(path, {"version": 1.3, "people": [
      {"person_id": [-1], "pose_keypoints_2d": flat.tolist(),
       "face_keypoints_2d": [], "hand_left_keypoints_2d": []}]})


def test_openpose_directory_uses_mid_hip_and_neck(tmp_path):
  # MidHip and Neck off the midpoints, to tell them from the derived ones.
  extra = lambda t: dict(mid_hip=_pose(t)[J["pelvis"]] + [0, 4],
                         neck_base=_pose(t)[J["thorax"]] + [0, -6])
  for t in (12, 10, 11):  # written out of order
    _openpose_file(tmp_path / f"video_{t:012d}_keypoints.json", t - 10, **extra(t - 10))
  kp = kp_lib.load_keypoints(tmp_path)
  want = np.stack([_pose(t) for t in range(3)])
  want[:, J["pelvis"]] += [0, 4]
  want[:, J["thorax"]] += [0, -6]
  want[:, J["spine"]] += [0, -1]  # the midpoint of the two moved joints
  np.testing.assert_array_equal(kp.pixels, want)
  np.testing.assert_array_equal(kp.info["frame_ids"], [10, 11, 12])
  assert kp.info["format"] == "openpose" and kp.info["layout"] == "body_25"
  assert kp.info["derived"]["pelvis"] == "BODY_25 MidHip"
  assert kp.info["derived"]["thorax"] == "BODY_25 Neck"
  assert kp.info["person"] == "most confident per frame"  # person_id -1: untracked
  files = sorted(tmp_path.glob("*.json"))
  same = kp_lib.load_keypoints([files[0], files[1]])
  np.testing.assert_array_equal(same.pixels, want[:2])


def test_openpose_missing_frame_is_an_error_or_masked(tmp_path):
  for t in (0, 1, 3):
    _openpose_file(tmp_path / f"clip_{t:012d}_keypoints.json", t)
  _write(tmp_path / f"clip_{4:012d}_keypoints.json", {"version": 1.3, "people": []})
  with pytest.raises(kp_lib.KeypointsError,
                     match=r"frame 2: .*\[2, 4\].*missing from the file: \[2\]"):
    kp_lib.load_keypoints(tmp_path)
  kp = kp_lib.load_keypoints(tmp_path, empty_frames="mask")
  assert kp.info["missing_frames"] == [2] and kp.info["empty_frames"] == [2, 4]
  assert kp.visible[[0, 1, 3]].all() and not kp.visible[[2, 4]].any()
  assert (kp.confidence[[2, 4]] == 0).all()


def _landmarks(t, size, vis=0.9, presence=None):
  xy = _source(_pose(t), MEDIAPIPE) / size
  out = [dict(x=x, y=y, z=-0.1, visibility=vis) for x, y in xy.tolist()]
  if presence is not None:
    for l in out:
      l["presence"] = presence
  return out


def test_mediapipe_normalised_landmarks(tmp_path):
  size = (1024, 512)  # powers of two: normalising is exact
  frames = [_landmarks(0, size), {"landmarks": _landmarks(1, size, presence=0.5)},
            {"landmarks": [_landmarks(2, size, vis=0.7)]}]
  path = _write(tmp_path / "mp.json", frames)
  with pytest.raises(kp_lib.KeypointsError, match=r"mp.json: .*image_size=\(width, "):
    kp_lib.load_keypoints(path)
  kp = kp_lib.load_keypoints(path, image_size=size)
  assert kp.info["format"] == "mediapipe" and kp.image_size == size
  np.testing.assert_array_equal(kp.pixels, np.stack([_pose(t) for t in range(3)]))
  np.testing.assert_allclose(kp.confidence[:, 0], [0.9, 0.5, 0.7])  # min(vis, presence)
  assert not kp.info["warnings"]


def test_mediapipe_legacy_presence_of_zero_is_not_given(tmp_path):
  # The legacy Pose API leaves presence at 0.0 on every landmark: read as
  # not given (the visibility is the score), with one warning.
  size = (1024, 512)
  frames = [_landmarks(t, size, vis=0.8, presence=0.0) for t in range(3)]
  kp = kp_lib.load_keypoints(_write(tmp_path / "legacy.json", frames),
                             image_size=size)
  np.testing.assert_allclose(kp.confidence, 0.8)
  assert kp.visible.all()
  (warning,) = kp.info["warnings"]
  assert "legacy.json: 'presence' is 0 on every landmark" in warning
  # One landmark (frame 1's nose) with a presence: presence counts
  # everywhere, so that nose (H36M's neck) alone is visible.
  frames[1][0]["presence"] = 0.5
  kp = kp_lib.load_keypoints(_write(tmp_path / "some.json", frames),
                             image_size=size, empty_frames="mask")
  assert kp.visible.sum() == 1 and kp.visible[1, J["neck"]]
  assert not any("'presence' is 0" in w for w in kp.info["warnings"])


def test_mediapipe_depth_behind_the_pelvis_in_scaled_pixels(tmp_path):
  # z on x's scale (the image's width) becomes pixels behind the hips'
  # midpoint, times the detector's measured scale; derived joints take
  # their ends' mean, as their pixels do.
  size = (1024, 512)
  z = {"l_hip": 0.02, "r_hip": -0.02, "l_wrist": -0.25, "r_wrist": 0.1,
       "l_shoulder": 0.05, "r_shoulder": 0.15, "nose": -0.1, "l_eye": -0.08,
       "r_eye": -0.06}
  frames = [_landmarks(t, size) for t in range(2)]
  for frame in frames:
    for name, landmark in zip(MEDIAPIPE, frame):
      landmark["z"] = z.get(name, 0.0)
  kp = kp_lib.load_keypoints(_write(tmp_path / "mp.json", frames),
                             image_size=size)
  scale = kp_lib.DEPTH_SCALE["mediapipe"]
  want = lambda v: np.full(2, v * 1024 * scale)
  np.testing.assert_allclose(kp.depth_px[:, J["pelvis"]], 0.0, atol=1e-4)
  np.testing.assert_allclose(kp.depth_px[:, J["l_wrist"]], want(-0.25),
                             rtol=1e-5)
  np.testing.assert_allclose(kp.depth_px[:, J["thorax"]], want(0.1), rtol=1e-5)
  np.testing.assert_allclose(kp.depth_px[:, J["spine"]], want(0.05), rtol=1e-5)
  np.testing.assert_allclose(kp.depth_px[:, J["head"]], want(-0.04), rtol=1e-5)
  # Landmarks without z, and formats without a depth, give none.
  for frame in frames:
    for landmark in frame:
      del landmark["z"]
  assert kp_lib.load_keypoints(_write(tmp_path / "flat.json", frames),
                               image_size=size).depth_px is None
  coco = [{"frame_id": 0, "instances": [_coco_person(0)]}]
  assert kp_lib.load_keypoints(_write(tmp_path / "c.json",
                                      coco)).depth_px is None


def test_npz_h36m_and_coco_layouts(tmp_path):
  poses = np.stack([_pose(t) for t in range(3)])
  scores = np.full((3, 17), 0.8)
  np.savez(tmp_path / "h36m.npz", keypoints=poses, scores=scores)
  kp = kp_lib.load_keypoints(tmp_path / "h36m.npz")
  np.testing.assert_array_equal(kp.pixels, poses)
  assert kp.info["format"] == "npz" and kp.info["derived"] == {}
  coco = np.stack([_source(p, COCO) for p in poses])
  np.savez(tmp_path / "coco.npz", keypoints=coco, layout="coco", image_size=[640, 480])
  kp = kp_lib.load_keypoints(tmp_path / "coco.npz")
  np.testing.assert_array_equal(kp.pixels, poses)
  assert kp.image_size == (640, 480) and (kp.confidence == 1).all()
  np.savez(tmp_path / "plain.npz", keypoints=coco)
  kp = kp_lib.load_keypoints(tmp_path / "plain.npz", layout="coco")
  np.testing.assert_array_equal(kp.pixels, poses)
  np.savez(tmp_path / "bad.npz", keypoints=poses, scores=scores[:2])
  with pytest.raises(kp_lib.KeypointsError, match=r"bad.npz: 'scores' has shape \(2, 17\)"):
    kp_lib.load_keypoints(tmp_path / "bad.npz")
  with pytest.raises(kp_lib.KeypointsError, match=r"h36m.npz: person=1, but an .npz"):
    kp_lib.load_keypoints(tmp_path / "h36m.npz", person=1)
  np.savez(tmp_path / "wide.npz", keypoints=coco * [2, 1], layout="coco",
           image_size=[640, 480])
  with pytest.raises(kp_lib.KeypointsError, match=r"wide.npz: frame 0: keypoint 7 "
                     r"\(l_elbow\) at \(720.0, 250.0\) px lies outside the 640x480"):
    kp_lib.load_keypoints(tmp_path / "wide.npz")


def test_threshold_sets_the_visible_mask(tmp_path):
  person = _coco_person(0, score=0.9)
  c = {n: i for i, n in enumerate(COCO)}
  person["keypoints"][3 * c["l_wrist"] + 2] = 0.29
  person["keypoints"][3 * c["r_wrist"] + 2] = 0.3
  person["keypoints"][3 * c["l_hip"] + 2] = 0.5
  path = _write(tmp_path / "t.json", [{"frame_id": 0, "instances": [person]}])
  kp = kp_lib.load_keypoints(path)
  assert kp.info["threshold"] == kp_lib.DEFAULT_THRESHOLD == 0.3
  assert not kp.visible[0, J["l_wrist"]] and kp.visible[0, J["r_wrist"]]
  np.testing.assert_allclose(kp.confidence[0, [J["pelvis"], J["spine"]]], 0.5)
  kp = kp_lib.load_keypoints(path, threshold=0.6)
  assert set(np.flatnonzero(~kp.visible[0])) == {
      J["l_wrist"], J["r_wrist"], J["l_hip"], J["pelvis"], J["spine"]}


def test_bad_files_name_the_file_and_frame(tmp_path):
  (tmp_path / "empty.json").write_text("")
  with pytest.raises(kp_lib.KeypointsError, match=r"empty.json: empty file"):
    kp_lib.load_keypoints(tmp_path / "empty.json")
  with pytest.raises(kp_lib.KeypointsError, match=r"none.json: empty file"):
    kp_lib.load_keypoints(_write(tmp_path / "none.json", []))
  with pytest.raises(kp_lib.KeypointsError, match=r"odd.json: not a recognised.*"
                     r"looked for COCO-17.*OpenPose BODY_25.*MediaPipe"):
    kp_lib.load_keypoints(_write(tmp_path / "odd.json", {"boxes": [1, 2]}))
  assert issubclass(kp_lib.KeypointsError, FormatError)

  frames = [{"frame_id": t, "instances": [_coco_person(t)]} for t in range(3)]
  path = _write(tmp_path / "k.json", frames)
  with pytest.raises(kp_lib.KeypointsError,
                     match=r"k.json: frame 0: keypoint 7 \(l_elbow\) at \(360.0, "
                     r"250.0\) px lies outside the 320x240 image \(margin 32 px\)"):
    kp_lib.load_keypoints(path, image_size=(320, 240))
  kp_lib.load_keypoints(path, image_size=(340, 400))  # x up to 371: in the margin

  low = [{"frame_id": t, "instances": [_coco_person(t, score=0.1 if t == 1 else 0.9)]}
         for t in range(3)]
  path = _write(tmp_path / "low.json", low)
  with pytest.raises(kp_lib.KeypointsError, match=r"low.json: frame 1: no joint with "
                     r"confidence >= 0.3.*empty_frames='mask'"):
    kp_lib.load_keypoints(path)
  kp = kp_lib.load_keypoints(path, empty_frames="mask")
  assert kp.info["empty_frames"] == [1] and not kp.visible[1].any()

  gap = [{"frame_id": t, "instances": [_coco_person(t)]} for t in (0, 1, 4)]
  with pytest.raises(kp_lib.KeypointsError, match=r"gap.json: frame 2: .*\[2, 3\].*"
                     r"missing from the file: \[2, 3\]"):
    kp_lib.load_keypoints(_write(tmp_path / "gap.json", gap))

  nan = _coco_person(1)
  nan["keypoints"][3 * 5] = math.nan  # l_shoulder's x
  frames = [{"frame_id": 0, "instances": [_coco_person(0)]},
            {"frame_id": 1, "instances": [nan]}]
  path = _write(tmp_path / "nan.json", frames)
  with pytest.raises(kp_lib.KeypointsError, match=r"nan.json: frame 1: keypoint 5 "
                     r"\(l_shoulder\) has NaN/inf coordinates but score 0.9 > 0"):
    kp_lib.load_keypoints(path)
  nan["keypoints"][3 * 5 + 2] = 0.0  # no score: a joint the detector did not find
  kp = kp_lib.load_keypoints(_write(path, frames))
  assert not kp.visible[1, J["l_shoulder"]] and not kp.visible[1, J["thorax"]]

  short = [{"frame_id": 0, "instances": [{"keypoints": [1.0] * 50}]}]
  with pytest.raises(kp_lib.KeypointsError, match=r"short.json: frame 0: 'keypoints': "
                     r"expected 17 keypoints as 51 numbers"):
    kp_lib.load_keypoints(_write(tmp_path / "short.json", short))
  with pytest.raises(kp_lib.KeypointsError, match=r"k.json: frame 0: "
                     r"'pose_keypoints_2d': expected 25 keypoints as 75 numbers"):
    kp_lib.load_keypoints(tmp_path / "k.json", format="openpose")  # a COCO file
  with pytest.raises(kp_lib.KeypointsError, match=r"short.json: not a readable .npz"):
    kp_lib.load_keypoints(tmp_path / "short.json", format="npz")


def test_guess_intrinsics_by_hand():
  intr, how = kp_lib.guess_intrinsics((1000, 1000))
  np.testing.assert_allclose(intr, [1147, 1147, 500, 500])  # the H36M-like camera
  assert "47.1 degree" in how and "the default" in how and "(500, 500)" in how
  intr, _ = kp_lib.guess_intrinsics((1920, 1080))
  np.testing.assert_allclose(intr, [960 * 1147 / 500, 960 * 1147 / 500, 960, 540])
  intr, how = kp_lib.guess_intrinsics((640, 480), fov_deg=90.0)
  np.testing.assert_allclose(intr, [320, 320, 320, 240])  # tan(45 deg) = 1
  assert "90.0 degree" in how and "default" not in how
  intr, how = kp_lib.guess_intrinsics((640, 480), focal_px=800)
  np.testing.assert_allclose(intr, [800, 800, 320, 240])
  assert "focal 800 px as given" in how
  with pytest.raises(ValueError, match="not both"):
    kp_lib.guess_intrinsics((640, 480), focal_px=800, fov_deg=60)
  with pytest.raises(ValueError, match="image size unknown"):
    kp_lib.guess_intrinsics(None)


def test_guess_intrinsics_estimates_the_image_size(tmp_path):
  frames = [{"frame_id": t, "instances": [_coco_person(t)]} for t in range(3)]
  kp = kp_lib.load_keypoints(_write(tmp_path / "k.json", frames))
  far = np.stack([_pose(t) for t in range(3)]).max(axis=(0, 1))  # (371, 420)
  intr, how = kp_lib.guess_intrinsics(None, keypoints=kp)
  f = max(far) / 2 * 1147 / 500
  np.testing.assert_allclose(intr, [f, f, far[0] / 2, far[1] / 2])
  assert "estimated 371x420 px from the keypoints' extent" in how
  sized = kp_lib.load_keypoints(tmp_path / "k.json", image_size=(640, 480))
  intr, how = kp_lib.guess_intrinsics(None, keypoints=sized)  # the file's size
  np.testing.assert_allclose(intr[2:], [320, 240])
  assert "estimated" not in how
