"""Writes the results pages from the spec (experiments/report/pages/).

  python -m experiments.results           # rewrite docs/results/ and the
                                          # README's headline table
  python -m experiments.results --check   # exit 1 naming what is stale
"""
from __future__ import annotations

from absl import app
from absl import flags

from experiments.report import pages
from experiments.report import render

_CHECK = flags.DEFINE_bool("check", False, "Write nothing; exit 1 when a "
                           "page differs from what the spec gives.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  expected = render.outputs(pages.PAGES, pages.HEADLINE)
  stale = render.stale(expected) + render.strays(expected)
  rel = lambda p: p.relative_to(render.ROOT).as_posix()
  if _CHECK.value:
    for path in stale:
      print(f"stale: {rel(path)} (run python -m experiments.results)")
    return 1 if stale else 0
  for path in render.strays(expected):
    path.unlink()
    print(f"removed {rel(path)} (no page of the spec)")
  for path in render.stale(expected):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(expected[path])
    print(f"wrote {rel(path)}")
  return 0


if __name__ == "__main__":
  app.run(main)
