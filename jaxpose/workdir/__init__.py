"""Everything a run leaves on disk: `layout` (every path of a workdir),
`version` (which layout wrote it), `lock`, `prepared`, `run_config`, `checkpoint`, and `trained` (a workdir
read back as a trained model). Import the module you need; this package
imports none of them, so its lowest layer stays importable from anywhere.
"""
