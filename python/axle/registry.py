"""Name registries for the pluggable classes (initializers, optimizers, metrics), as MXNet's
mx.registry: register a class under its lower-case name, add aliases, create by name or JSON."""
import json

__all__ = ["get_register_func", "get_alias_func", "get_create_func"]

_REGISTRIES = {}


def _registry(base):
    return _REGISTRIES.setdefault(base, {})


def get_register_func(base, nickname):
    """A decorator registering subclasses of base under their lower-case class name."""
    reg = _registry(base)

    def register(klass, name=None):
        if not (isinstance(klass, type) and issubclass(klass, base)):
            raise TypeError(f"Can only register subclasses of {base.__name__} as {nickname}s, got {klass!r}")
        reg[(name or klass.__name__).lower()] = klass
        return klass
    register.__doc__ = f"Registers a {nickname} class (then create() finds it by name)."
    return register


def get_alias_func(base, nickname):
    """A decorator factory registering a class under further names."""
    register = get_register_func(base, nickname)

    def alias(*aliases):
        def reg(klass):
            for name in aliases:
                register(klass, name)
            return klass
        return reg
    return alias


def get_create_func(base, nickname):
    """create(x, *args, **kwargs): x an instance (returned as is), a registered name, or a JSON
    string '["name", {kwargs}]' (what dumps() writes)."""
    reg = _registry(base)

    def create(*args, **kwargs):
        if args:
            name, args = args[0], args[1:]
        else:
            name = kwargs.pop(nickname)
        if isinstance(name, base):
            if args or kwargs:
                raise ValueError(f"{nickname} is already an instance; extra arguments {args} {kwargs} make no sense")
            return name
        if isinstance(name, type) and issubclass(name, base):
            return name(*args, **kwargs)
        if not isinstance(name, str):
            raise TypeError(f"{nickname} must be a name, a JSON string or a {base.__name__}, got {type(name).__name__}")
        if name.startswith("["):
            if args or kwargs:
                raise ValueError(f"{nickname} given as JSON takes no further arguments")
            name, kwargs = json.loads(name)
            return create(name, **kwargs)
        if name.startswith("{"):
            if args or kwargs:
                raise ValueError(f"{nickname} given as JSON takes no further arguments")
            kwargs = json.loads(name)
            return create(**kwargs)
        key = name.lower()
        if key not in reg:
            raise ValueError(f"Cannot find {nickname} {name!r}; registered: {', '.join(sorted(reg))}")
        return reg[key](*args, **kwargs)
    create.__doc__ = get_create_func.__doc__.replace("create(x", f"create({nickname}")
    return create
