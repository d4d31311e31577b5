"""jaxpose.core.host_memory: glibc keeps freed memory, so a large XLA
buffer is not faulted in again on every call; children get the same
setting; the switch and other platforms say what is in force."""
import json
import os
import subprocess
import sys

import pytest

from jaxpose.core import host_memory

# The gradient of a small MLP at 8192 rows: its temporary buffer (the
# [8192, 1024] activations) is far above glibc's mmap limits. The child
# prints the minor page faults of 20 calls after 30.
_CHILD = r"""
import json, resource, sys
from jaxpose.core import host_memory
said = host_memory.retain_freed_memory() if sys.argv[1] == "retain" else None
import jax, jax.numpy as jnp
k = jax.random.split(jax.random.key(0), 3)
w1, w2 = jax.random.normal(k[0], (64, 1024)), jax.random.normal(k[1], (1024, 64))
x = jax.random.normal(k[2], (8192, 64))
def loss(w1, w2, x):
  return jnp.sum((jnp.tanh(jnp.tanh(x @ w1) * 1.5 + 0.1) @ w2) ** 2)
f = jax.jit(jax.grad(loss, argnums=(0, 1)))
for _ in range(30):  # the retained heap grows to its high-water mark
  jax.block_until_ready(f(w1, w2, x))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
  jax.block_until_ready(f(w1, w2, x))
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps(dict(faults=faults, said=said)))
"""


def _faults(mode: str, env: dict) -> dict:
  out = subprocess.run([sys.executable, "-c", _CHILD, mode], env=env,
                       capture_output=True, text=True, check=True, timeout=300)
  return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(host_memory._glibc() is None, reason="needs glibc")
def test_retained_memory_is_not_faulted_in_again_each_call():
  env = {k: v for k, v in os.environ.items()
         if k not in ("GLIBC_TUNABLES", host_memory.ENV_SWITCH)}
  plain = _faults("plain", env)
  kept = _faults("retain", env)
  assert kept["said"] == host_memory.RETAINED
  # A [8192, 1024] float32 array is 8,192 pages: without retention every
  # call faults its buffers in afresh (about 27,000 pages here); with it,
  # at most a late step of the heap's growth or two.
  assert plain["faults"] > 20 * 8_192, plain
  assert kept["faults"] < plain["faults"] / 4, (plain, kept)
  # A child started with subprocess_env's environment gets the same.
  tunables = dict(env, GLIBC_TUNABLES=host_memory.GLIBC_TUNABLES)
  assert _faults("plain", tunables)["faults"] < plain["faults"] / 4


def test_switch_off_leaves_glibc_alone(monkeypatch):
  calls = []
  monkeypatch.setattr(host_memory, "_glibc", lambda: calls.append(1))
  said = host_memory.retain_freed_memory({host_memory.ENV_SWITCH: "0"})
  assert "JAXPOSE_RETAIN_HOST_MEMORY=0" in said and not calls
  assert host_memory.describe() == said and not host_memory.retained()
  assert "GLIBC_TUNABLES" not in host_memory.subprocess_env({"A": "1"})


def test_other_platforms_say_their_allocator(monkeypatch):
  monkeypatch.setattr(host_memory, "_glibc", lambda: None)
  said = host_memory.retain_freed_memory({})
  assert "not glibc" in said and not host_memory.retained()


class _FakeLibc:

  def __init__(self, refuse=()):
    self.calls, self.refuse = [], refuse

  def mallopt(self, option, value):
    self.calls.append((option, value))
    return 0 if option in self.refuse else 1


def test_settings_and_refusals_are_reported(monkeypatch):
  monkeypatch.setattr(host_memory, "_backends_started", lambda: False)
  libc = _FakeLibc()
  monkeypatch.setattr(host_memory, "_glibc", lambda: libc)
  assert host_memory.retain_freed_memory({}) == host_memory.RETAINED
  assert libc.calls == [(-8, 1), (-4, 0), (-1, 2**31 - 1)]
  # Children: ours added, the user's other tunables kept, ours replaced.
  env = host_memory.subprocess_env(
      {"GLIBC_TUNABLES": "glibc.malloc.arena_max=4:glibc.pthread.rseq=0"})
  assert env["GLIBC_TUNABLES"] == ("glibc.pthread.rseq=0:" +
                                   host_memory.GLIBC_TUNABLES)
  libc = _FakeLibc(refuse=(-4,))
  monkeypatch.setattr(host_memory, "_glibc", lambda: libc)
  said = host_memory.retain_freed_memory({})
  assert said == "glibc refused mallopt options [-4]"
  assert not host_memory.retained()


def test_late_call_warns(monkeypatch):
  monkeypatch.setattr(host_memory, "_backends_started", lambda: True)
  monkeypatch.setattr(host_memory, "_glibc", lambda: _FakeLibc())
  warned = []
  monkeypatch.setattr(host_memory.logging, "warning",
                      lambda *a: warned.append(a[0]))
  host_memory.retain_freed_memory({})
  assert warned and "before the first computation" in warned[0]


@pytest.fixture(autouse=True)
def _restore_state():
  saved = dict(host_memory._state)
  yield
  host_memory._state.clear()
  host_memory._state.update(saved)
