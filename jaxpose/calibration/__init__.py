"""Calibration of a model's hypotheses, as a layer of its own.

Held-out training rows read back (`heldout`: `--mode=calibrate`,
`eval.rows='heldout'`), the calibration fitted on them (`fit`), stored in
WORKDIR/calibration.json and applied to later evaluations (`store`), or
borrowed from a sibling workdir (`heldout.borrow`). The coverage and energy
figures every task reports stay in `evaluation.calibration`. It sits beside
evaluation and above the method interface (it reads `methods.base`'s
`Trained`), like `run_lib`, which calls it; no method imports it.
"""
