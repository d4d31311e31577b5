"""A method's evaluation tasks by name, each with its own typed options.

A task is `task(trained, options, ctx) -> TaskResult`. One with settings
of its own registers an options dataclass, read from the config's group
`eval.<task>`:

  @TASKS.register("complete", options=CompleteOptions)
  def complete(trained, options, ctx): ...     # c.eval.complete.steps

A task without one is handed the method's shared `eval_options` (every
task's `trained.run.eval_options`). A key in the wrong group is refused
naming its task. `formerly` maps flat keys of older configs
('complete_steps') to options ('steps'), so older workdirs still read; a
flat key that fed several tasks is in each of their `formerly`; one whose
value changed form maps to `(option, convert)`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from absl import logging

from jaxpose import settings as settings_lib
from jaxpose.evaluation.runner import EvalContext, TaskResult

TaskFn = Callable[[Any, Any, EvalContext], TaskResult]


@dataclasses.dataclass(frozen=True)
class Task:
  """A registered task: its function, options class (or None) and the flat
  `eval` keys its options were called before (old key -> option name, or
  (option name, a function from the old value to the option's))."""
  fn: TaskFn
  options: type | None = None
  formerly: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  def renamed(self) -> dict[str, tuple[str, Callable[[Any], Any] | None]]:
    """{old key: (option, the old value's conversion or None)}."""
    return {old: (new, None) if isinstance(new, str) else tuple(new)
            for old, new in self.formerly.items()}


class Tasks:
  """A method's evaluation tasks by name."""

  def __init__(self):
    self._tasks: dict[str, Task] = {}

  def register(self, name: str, *, options: type | None = None,
               formerly: Mapping[str, Any] | None = None):
    """Decorator: registers a task function under `name`, with the
    dataclass of its options (`config.eval.<name>`), if it has any."""
    if formerly and options is None:
      raise ValueError(f"task {name!r}: 'formerly' names options it lacks")

    def wrap(fn: TaskFn) -> TaskFn:
      if name in self._tasks:
        raise ValueError(f"task {name!r} is registered twice")
      self._tasks[name] = Task(fn, options, dict(formerly or {}))
      return fn

    return wrap

  def names(self) -> tuple[str, ...]:
    return tuple(self._tasks)

  def __contains__(self, name) -> bool:
    return name in self._tasks

  def __getitem__(self, name: str) -> TaskFn:
    return self._tasks[name].fn

  def options(self) -> dict[str, type]:
    """{task: its options class} of the tasks that have one."""
    return {n: t.options for n, t in self._tasks.items() if t.options}

  def renamed_keys(self, task: str | None = None) -> dict[str, str]:
    """{'eval.<old flat key>': 'eval.<task>.<option>'}: a key that fed
    several tasks under `task`'s name when it is one of them, else the
    first task's."""
    out = {}
    for name, entry in self._tasks.items():
      for old, (new, _) in entry.renamed().items():
        if name == task or f"eval.{old}" not in out:
          out[f"eval.{old}"] = f"eval.{name}.{new}"
    return out

  def defaults(self) -> dict[str, dict]:
    """{task: {option: default}} of the options that have a default."""
    return {n: settings_lib.defaults(cls) for n, cls in self.options().items()}

  def upgrade(self, section: Mapping) -> dict:
    """A plain `eval` section with the flat keys of older configs moved
    into their tasks' groups.

    Raises:
      settings.ConfigError: a flat key and its new place both given, with
        other values.
    """
    if not isinstance(section, Mapping):
      raise settings_lib.ConfigError(
          f"eval: expected a group of keys, got {section!r}")
    out = dict(section)
    moved = []
    for name, task in self._tasks.items():
      for old, (new, convert) in task.renamed().items():
        if old not in section:
          continue
        value = section[old] if convert is None else convert(section[old])
        out.pop(old, None)
        group = dict(out.get(name) or {})
        if new in group and group[new] != value:
          raise settings_lib.ConfigError(
              f"eval.{old}={value!r} and eval.{name}.{new}={group[new]!r}: "
              f"the same option of task {name!r} given twice; keep "
              f"eval.{name}.{new}")
        group.setdefault(new, value)
        out[name] = group
        if old not in moved:
          moved.append(old)
    if moved:
      logging.info("eval: the flat keys %s of an older config read as their "
                   "tasks' options (eval.<task>.<option>)", ", ".join(moved))
    return out

  def parse(self, section: Mapping, shared: tuple[str, ...]
            ) -> tuple[dict, dict[str, Any]]:
    """(the `eval` keys left for the shared settings, {task: typed options}).

    Args:
      section: the plain `eval` section (`upgrade`d).
      shared: the keys of the generic and the method's shared settings.

    Raises:
      settings.ConfigError: a task's group missing or holding a key that is
        not its option (naming the task that owns it, if any), or an
        option of a task given outside its group.
    """
    groups = self.options()
    rest = {k: v for k, v in section.items() if k not in groups}
    for key in sorted(set(rest) - set(shared)):
      owners = self._owners(key)
      if owners:
        raise settings_lib.ConfigError(
            f"eval.{key}: an option of task {_names(owners)}, in its own "
            f"group, not of eval as a whole; write eval.{owners[0]}.{key}")
    parsed = {}
    for name, cls in groups.items():
      values = section.get(name)
      if values is None and settings_lib.field_names(cls) != tuple(
          settings_lib.defaults(cls)):
        raise settings_lib.ConfigError(
            f"eval.{name}: missing; the options of task {name!r}: "
            f"{', '.join(settings_lib.field_names(cls))}")
      if values is not None and not isinstance(values, Mapping):
        raise settings_lib.ConfigError(
            f"eval.{name}: expected the group of task {name!r}'s options, "
            f"got {values!r}")
      for key in sorted(set(values or {}) - set(settings_lib.field_names(cls))):
        owners = [o for o in self._owners(key) if o != name]
        where = (f"; it is an option of task {_names(owners)}: "
                 f"eval.{owners[0]}.{key}" if owners else
                 f"; its options: {', '.join(settings_lib.field_names(cls))}")
        raise settings_lib.ConfigError(
            f"eval.{name}.{key}: not an option of task {name!r}{where}")
      parsed[name] = settings_lib.parse(cls, values, f"eval.{name}")
    return rest, parsed

  def _owners(self, key: str) -> list[str]:
    return [n for n, cls in self.options().items()
            if key in settings_lib.field_names(cls)]


def _names(tasks: list[str]) -> str:
  return tasks[0] if len(tasks) == 1 else (
      f"{', '.join(tasks[:-1])} and {tasks[-1]}")


__all__ = ["Task", "Tasks", "TaskFn"]
