"""What nilus's engine calls in the interpreter: finding a connector's class, listing a
source's resources, keeping resource state as JSON, and describing failures. Not part of the
API of connectors."""

import datetime
import decimal
import importlib
import io
import json
import logging
import os
import re
import site
import sys
import traceback
import uuid

import nilus
from nilus._api import Resource, _ResourceFunction

# -- where the code is ------------------------------------------------------------------------

_code_dirs = []


class _Log(io.TextIOBase):
    """sys.stdout and sys.stderr: lines go to nilus's log (and through its secret masking)."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, write_line, level):
        self._write_line = write_line
        self._level = level
        self._pending = ""

    def write(self, text):
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._write_line(self._level, line)
        return len(text)

    def flush(self):
        if self._pending:
            self._write_line(self._level, self._pending)
            self._pending = ""

    def isatty(self):
        return False

    def writable(self):
        return True


class _LogHandler(logging.Handler):
    """The logging module's records, into nilus's log at their level."""

    def __init__(self, write_line):
        super().__init__()
        self._write_line = write_line
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record):
        level = ("debug" if record.levelno < logging.INFO else "info" if record.levelno < logging.WARNING
                 else "warn" if record.levelno < logging.ERROR else "error")
        for line in self.format(record).split("\n"):
            self._write_line(level, line)


def install_log(write_line):
    sys.stdout = _Log(write_line, "info")
    sys.stderr = _Log(write_line, "warn")
    # Before any basicConfig of connector code, which then leaves the root logger as it is.
    logging.root.addHandler(_LogHandler(write_line))
    logging.root.setLevel(logging.INFO)


def add_code_dir(path):
    """Puts a folder of connector code first on the module path."""
    path = os.path.abspath(path)
    if path not in sys.path:
        sys.path.insert(0, path)
    if path not in _code_dirs:
        _code_dirs.append(path)


def add_virtualenv(venv):
    """Adds the site-packages of a virtualenv, as its own interpreter would see them."""
    lib = os.path.join(venv, "lib")
    found = []
    if os.path.isdir(lib):
        for entry in sorted(os.listdir(lib)):
            packages = os.path.join(lib, entry, "site-packages")
            if entry.startswith("python") and os.path.isdir(packages):
                found.append(packages)
    if not found:
        raise FileNotFoundError(f"virtualenv {venv} has no lib/python3.*/site-packages folder")
    mine = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for packages in found:
        if os.path.basename(os.path.dirname(packages)) != mine:
            print(f"virtualenv {venv} was made for {os.path.basename(os.path.dirname(packages))}; nilus runs {mine}",
                  file=sys.stderr)
        site.addsitedir(packages)
        # Before the system's packages, as in the virtualenv's own interpreter.
        sys.path.remove(packages)
        sys.path.insert(0, packages)
    return found


_SKIP = {"__pycache__", ".git", "node_modules", "venv", ".venv", "site-packages"}


def _python_files(root):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP and not d.startswith("."))
        for f in sorted(files):
            if f.endswith(".py"):
                yield os.path.join(folder, f)


def _module_name(root, path):
    rel = os.path.relpath(path, root)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


def find_class(name, base):
    """The class called `name` that subclasses `base`, from the modules of the code folders
    (only files that define a class of that name are imported)."""
    wanted = re.compile(r"^\s*class\s+" + re.escape(name) + r"\b", re.M)
    kinds = re.compile(r"^\s*class\s+(\w+)\s*\([^)]*Custom(Source|Destination)\b", re.M)
    offered = []
    for root in _code_dirs:
        for path in _python_files(root):
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            offered += [m.group(1) for m in kinds.finditer(text) if m.group(2) == base.__name__[6:]]
            if not wanted.search(text):
                continue
            module_name = _module_name(root, path)
            if module_name is None:
                continue
            module = importlib.import_module(module_name)
            cls = getattr(module, name, None)
            if isinstance(cls, type) and issubclass(cls, base):
                return cls
            if isinstance(cls, type):
                raise TypeError(f"class {name} in {path} does not subclass nilus.{base.__name__}")
    where = ", ".join(_code_dirs) or "(no folder: give the manifest a repo: block, or --python-path)"
    raise LookupError(
        f"no class {name} (a nilus.{base.__name__}) in the connector code at {where}"
        + (f"; the {base.__name__} classes there are: {', '.join(sorted(set(offered)))}" if offered else "")
    )


# -- sources ----------------------------------------------------------------------------------


def resources(made, default_name):
    """The resources of what nilus_source returned: a resource, several (tuple, list), a
    @nilus.resource function not called yet, or plain rows (a generator or a list of dicts)."""
    items = list(made) if isinstance(made, (tuple, list)) and made and all(
        isinstance(m, (Resource, _ResourceFunction)) for m in made) else [made]
    out = []
    for item in items:
        if isinstance(item, _ResourceFunction):
            item = item()
        if not isinstance(item, Resource):
            if item is None:
                raise TypeError("nilus_source returned None; return a resource (a @nilus.resource function's result)")
            item = Resource(item, default_name)
        out.append(item)
    names = [r.name for r in out]
    for n in names:
        if names.count(n) > 1:
            raise ValueError(f"the source has two resources named {n}: give one a table_name")
    return out


def start_resource(res, state_json):
    """Makes `res` the running resource with its saved state and returns its row iterator."""
    res.state = load_state(state_json)
    nilus.current._resource = res
    return iter(res)


def resource_state(res):
    return dump_state(res.state)


# -- state ------------------------------------------------------------------------------------

_TAG = "__nilus_type__"


def _encode(value):
    if isinstance(value, datetime.datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, datetime.date):
        return {_TAG: "date", "value": value.isoformat()}
    if isinstance(value, datetime.time):
        return {_TAG: "time", "value": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {_TAG: "decimal", "value": str(value)}
    if isinstance(value, uuid.UUID):
        return {_TAG: "uuid", "value": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {_TAG: "bytes", "value": bytes(value).hex()}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"resource state holds a {type(value).__name__}, which nilus cannot keep; "
                    "keep str, int, float, bool, None, datetime, date, Decimal, UUID, bytes, lists and dicts")


def _decode(obj):
    kind = obj.get(_TAG)
    if kind is None or len(obj) != 2:
        return obj
    value = obj["value"]
    return {
        "datetime": datetime.datetime.fromisoformat,
        "date": datetime.date.fromisoformat,
        "time": datetime.time.fromisoformat,
        "decimal": decimal.Decimal,
        "uuid": uuid.UUID,
        "bytes": bytes.fromhex,
    }[kind](value)


def dump_state(state):
    return json.dumps(state, default=_encode, sort_keys=True)


def load_state(text):
    state = json.loads(text, object_hook=_decode) if text else {}
    if not isinstance(state, dict):
        state = {}
    return state


# -- failures ---------------------------------------------------------------------------------


def _transient(error):
    if isinstance(error, (nilus.RetryableError, ConnectionError, TimeoutError)):
        return True
    requests = sys.modules.get("requests")
    if requests is not None:
        exceptions = requests.exceptions
        if isinstance(error, (exceptions.ConnectionError, exceptions.Timeout)):
            return True
        if isinstance(error, exceptions.HTTPError) and error.response is not None:
            status = error.response.status_code
            return status == 429 or status >= 500
    urllib_error = sys.modules.get("urllib.error")
    if urllib_error is not None and isinstance(error, urllib_error.HTTPError):
        return error.code == 429 or error.code >= 500
    if urllib_error is not None and isinstance(error, urllib_error.URLError):
        return isinstance(error.reason, (ConnectionError, TimeoutError, OSError))
    return False


def describe(error):
    """(whether a retry may succeed, the traceback as text)."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip()
    return _transient(error), text


def add_import_root(path):
    """Makes the modules below `path` importable by their path from it."""
    path = os.path.abspath(path)
    if path not in sys.path:
        sys.path.append(path)
