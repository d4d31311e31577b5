"""The generic diffusion core, shared by every method.

  sde          forward processes (`ForwardProcess`) and their registry
  priors       terminal distributions as values (Gaussian, mixture)
  losses       denoising score matching, score from an epsilon network
  samplers     update rules of the sampling methods, sampler specs
  sampling     `Problem`, `make_sampler` -> `Sampler`, hypotheses
  tweedie      one-step denoised estimate of x0
  box          the training range that keeps samplers' x0 estimate in range
  xla_options  opt-in XLA compiler options for samplers
"""
