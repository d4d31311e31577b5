"""Generic evaluation: runner, typed settings, chunking and pose figures.

  config.py      `config.eval` as typed values (`EvalConfig` + a method's
                 own options), checked before anything runs
  runner.py      `EvalContext` in, `TaskResult` out, one JSON writer, one
                 output-suffix rule, the printed table
  chunks.py      `map_chunks`: fixed-size padded chunks, one program
  estimation.py  MPJPE / PA-MPJPE / best-of-H / per joint and activity
  calibration.py spread-error correlation, interval coverage, energy score
  completion.py  missing-joint masks, pose noise, completion errors
  generative.py  Frechet distance, nearest neighbours, APD of pose sets
  plausibility.py  warnings for errors no human body allows (run_task's)

No module here names a method: methods (jaxpose/methods/) build on these.
"""
