"""Service handlers, one module per service: services/<service>.py.

A module defines SERVICE (the botocore service name), OPERATIONS (operation name
-> handler(ctx, params) -> output dict) and optionally normalize(world) to fill a
world file's defaults. Adding a service is adding a module; the core finds it.
Several modules may serve one service (ec2.py, ec2_network.py): their
OPERATIONS are merged. Modules whose name starts with `_` are helpers."""
import importlib
import pkgutil

_modules = None
_ops = None


def modules():
    """Every handler module in this package, in name order."""
    global _modules, _ops
    if _modules is None:
        found, ops = [], {}
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{__name__}.{info.name}")
            if hasattr(mod, "SERVICE"):
                found.append(mod)
                for name, fn in getattr(mod, "OPERATIONS", {}).items():
                    if (mod.SERVICE, name) in ops:
                        raise RuntimeError(f"{mod.SERVICE} {name} is handled twice")
                    ops[(mod.SERVICE, name)] = fn
        _modules, _ops = found, ops
    return _modules


def handler(service, operation):
    """The handler of `service` `operation`, or None when the fake lacks it."""
    modules()
    return _ops.get((service, operation))


def implemented():
    """Sorted (service, operation) pairs the fake implements."""
    modules()
    return sorted(_ops)


def normalizers():
    return [m.normalize for m in modules() if hasattr(m, "normalize")]
