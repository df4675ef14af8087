"""Automatic names for symbols (MXNet's NameManager and Prefix): an op created without a name
gets `<hint><n>`, the hint being the op's name in lower case (`fullyconnected0`, `_plus1`)."""
import threading

__all__ = ["NameManager", "Prefix"]


class NameManager:
    """Gives unnamed symbols unique names; use `with NameManager():` to start counting afresh."""

    _local = threading.local()

    def __init__(self):
        self._counter = {}
        self._old_manager = None

    def get(self, name, hint):
        """`name` when given, else `hint` with this manager's next number for it."""
        if name:
            return name
        n = self._counter.get(hint, 0)
        self._counter[hint] = n + 1
        return "%s%d" % (hint, n)

    def __enter__(self):
        self._old_manager = NameManager.current
        NameManager._local.current = self
        return self

    def __exit__(self, ptype, value, trace):
        NameManager._local.current = self._old_manager
        self._old_manager = None

    @classmethod
    def _current(cls):
        cur = getattr(cls._local, "current", None)
        if cur is None:
            cur = cls._local.current = NameManager()
        return cur


class _CurrentDescriptor:
    def __get__(self, obj, cls):
        return NameManager._current()


NameManager.current = _CurrentDescriptor()


class Prefix(NameManager):
    """Prepends a prefix to every name made inside it: `with Prefix('stage1_'):`."""

    def __init__(self, prefix):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint):
        return self._prefix + super().get(name, hint)
