"""`nilus.common.pendulum` is the pendulum package, when the interpreter (or the virtualenv) has it."""

import sys

try:
    import pendulum as _pendulum
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "nilus.common.pendulum needs the pendulum package: install it (apt-get install python3-pendulum, or "
        "pip install pendulum in the virtualenv nilus runs with: VIRTUAL_ENV)"
    ) from error

sys.modules[__name__] = _pendulum
