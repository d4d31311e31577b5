"""The README's DPoser tables: the authors' recipe beside jaxpose's weights."""
import json

from experiments import results_dposer


def _row(prior, noise, after, weights="fixed", before=32.0):
  return dict(prior=prior, noise_mm=noise, weights=weights,
              mpjpe_before_mm=before, mpjpe_after_mm=after)


def _spread(mean, std=0.1):
  return dict(mean=mean, std=std, min=mean - std, max=mean + std, n=3)


def _seed_row(prior, noise, after, weights):
  return dict(prior=prior, noise_mm=noise, weights=weights,
              figures=dict(mpjpe_before_mm=_spread(31.9), mpjpe_after_mm=_spread(after)))


def test_denoise_table_puts_each_runs_rows_under_its_own_label():
  fixed = dict(num_windows=20, window=60, settings=[
      _row("none", 20.0, 27.3), _row("dposer", 20.0, 29.3)])
  annealed = dict(settings=[_row("dposer", 20.0, 86.0, "annealed")])
  released = dict(settings=[_row("none", 20.0, 22.6, "released"),
                            _row("dposer", 20.0, 28.1, "released")])
  table = "\n".join(results_dposer._denoise(fixed, annealed, None, released))
  assert "| DPoser | 29.3 |" in table
  assert "| DPoser (annealed weights) | 86.0 |" in table
  assert "| no prior (the authors' recipe) | 22.6 |" in table
  assert "| DPoser (the authors' recipe) | 28.1 |" in table
  assert table.count("(noisy input)") == 1


def test_seed_table_of_the_released_recipe_and_its_note(tmp_path):
  rows = [_seed_row("none", 20.0, 22.6, "released"), _seed_row("gmm", 20.0, 25.0, "released"),
          _seed_row("dposer", 20.0, 19.0, "released"),
          _seed_row("dposer", 20.0, 99.0, "fixed")]
  res = dict(settings_across_seeds=rows)
  table = "\n".join(results_dposer._seed_denoise(res, "released"))
  assert "Motion denoising, the authors' recipe (MPJPE after):" in table
  assert "99.0" not in table  # another schedule's row
  # 15% below min(22.6, 25.0) is 19.21: 19.0 meets it.
  assert "20 mm: DPoser 19.0 against 19.2 (met)" in table
  fixed = dict(settings_across_seeds=[_seed_row("none", 20.0, 27.3, "fixed")])
  path = tmp_path / results_dposer.SEEDS.format(task="denoise_motion")
  path.parent.mkdir(parents=True)
  path.write_text(json.dumps(fixed))
  note = results_dposer._released_note(tmp_path, res)
  assert "20 mm: no prior 22.6, DPoser 19.0 (-15.9%)" in note
  assert "scores 22.6 mm at 20 mm, against 27.3 with jaxpose's squared ones" in note
  assert "does not help" not in note  # DPoser is below no prior here
  worse = dict(settings_across_seeds=[_seed_row("none", 20.0, 22.6, "released"),
                                      _seed_row("dposer", 20.0, 23.0, "released")])
  assert "The prior does not help these unseen people at 20 mm." in (
      results_dposer._released_note(tmp_path, worse))


def test_people_sentence_gives_each_priors_change_against_no_prior(tmp_path):
  def summary(dposer_20, dposer_40):
    return dict(settings_across_seeds=[
        _seed_row("none", 20.0, 20.0, "released"), _seed_row("dposer", 20.0, dposer_20, "released"),
        _seed_row("none", 40.0, 40.0, "released"), _seed_row("dposer", 40.0, dposer_40, "released")])

  assert results_dposer._people_sentence(tmp_path) == ""  # nothing run yet
  for (_, path), res in zip(results_dposer.PEOPLE, (summary(20.2, 38.0), summary(21.0, 42.0))):
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(json.dumps(res))
  text = results_dposer._people_sentence(tmp_path)
  assert "at 20 / 40 mm by: with the four CMU training people, +1.0% / -5.0%" in text
  assert "without them (Bandai's people alone" in text and "+5.0% / +5.0%" in text
  assert "by 4.0 points at 20 mm and 10.0 points at 40 mm toward helping" in text
