"""Attribute scopes (MXNet's AttrScope): attributes given to every symbol created inside."""
import threading

__all__ = ["AttrScope"]


class AttrScope:
    """`with AttrScope(ctx_group='dev1'):` adds these string attributes to each symbol made inside."""

    _local = threading.local()

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            if not isinstance(v, str):
                raise ValueError(f"AttrScope: attribute {k!r} must be a string, got {type(v).__name__}")
        self._attr = kwargs
        self._old_scope = None

    def get(self, attr):
        """The scope's attributes updated with `attr` (a dict or None)."""
        if self._attr:
            ret = dict(self._attr)
            if attr:
                ret.update(attr)
            return ret
        return dict(attr) if attr else {}

    def __enter__(self):
        self._old_scope = AttrScope.current
        # nested scopes add to the enclosing one
        attr = dict(self._old_scope._attr)
        attr.update(self._attr)
        self._attr = attr
        AttrScope._local.current = self
        return self

    def __exit__(self, ptype, value, trace):
        AttrScope._local.current = self._old_scope
        self._old_scope = None

    @classmethod
    def _current(cls):
        cur = getattr(cls._local, "current", None)
        if cur is None:
            cur = cls._local.current = AttrScope()
        return cur


class _CurrentDescriptor:
    def __get__(self, obj, cls):
        return AttrScope._current()


AttrScope.current = _CurrentDescriptor()
