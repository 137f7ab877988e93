"""Custom sources and destinations: base classes, decorators and the state of the running
resource. Names and signatures are those of the Nilus custom-connector API."""

import functools


class RetryableError(Exception):
    """A failure worth trying again (a service briefly down, a rate limit): raise it, or a
    subclass, and nilus retries the whole load with backoff, as for its own connectors."""


class CustomSource:
    """Subclass it and address the subclass as custom://ClassName?param=value."""

    def handles_incrementality(self) -> bool:
        """True when the source keeps its own position (nilus.current.resource_state()); False
        lets nilus's incremental-key cursor filter the rows it yields."""
        return False

    def nilus_source(self, uri: str, table: str, **kwargs):
        """Returns one resource or several (a tuple), usually through a @nilus.source function."""
        raise NotImplementedError(f"{type(self).__name__} must define nilus_source(self, uri, table, **kwargs)")


class CustomDestination:
    """Subclass it and address the subclass as sink.address: custom://ClassName."""

    def nilus_dest(self, uri: str, **kwargs):
        """Returns the @nilus.destination function that receives the batches."""
        raise NotImplementedError(f"{type(self).__name__} must define nilus_dest(self, uri, **kwargs)")

    def nilus_run_params(self, uri: str, table: str, **kwargs):
        """Returns parameters of the run (dataset_name, table_name); the table name, when given,
        is the `name` the destination function sees."""
        return {}

    def post_load(self) -> None:
        """Called once every batch of a load was delivered."""


class Resource:
    """The rows of one table: a generator (or any iterable) and how its rows land. Made by
    calling a @nilus.resource function."""

    def __init__(self, rows, name, write_disposition=None, primary_key=None):
        if write_disposition not in (None, "append", "replace", "merge"):
            raise ValueError(
                f"resource {name}: write_disposition must be append, replace or merge, got {write_disposition!r}"
            )
        self._rows = rows
        self.name = name
        self.write_disposition = write_disposition
        if isinstance(primary_key, str):
            primary_key = [k.strip() for k in primary_key.split(",") if k.strip()]
        self.primary_key = list(primary_key or [])
        self.state = {}

    def __iter__(self):
        rows = self._rows
        if callable(rows):
            rows = rows()
        return iter(rows)

    def __repr__(self):
        return f"<nilus resource {self.name}>"


class _ResourceFunction:
    """A @nilus.resource function: calling it makes a Resource (nothing runs until nilus reads
    it). Not a descriptor, so it works the same as a module function and inside a class."""

    def __init__(self, fn, table_name, write_disposition, primary_key):
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._table_name = table_name or fn.__name__
        self._write_disposition = write_disposition
        self._primary_key = primary_key

    def __call__(self, *args, **kwargs):
        return Resource(
            lambda: self._fn(*args, **kwargs), self._table_name, self._write_disposition, self._primary_key
        )


def resource(fn=None, *, table_name=None, write_disposition=None, primary_key=None, name=None, **_hints):
    """Marks a generator function as a resource: it yields dicts (or lists of dicts), which land
    in table `table_name` (default: the function's name) with `write_disposition` (append,
    replace or merge; default: the sink's incremental-strategy) on `primary_key`."""

    def wrap(f):
        return _ResourceFunction(f, table_name or name, write_disposition, primary_key)

    return wrap(fn) if callable(fn) else wrap


def source(fn=None, **_hints):
    """Marks the function that groups a source's resources; calling it returns what the
    function returns (one resource, or several in a tuple or list)."""

    def wrap(f):
        @functools.wraps(f)
        def grouped(*args, **kwargs):
            return f(*args, **kwargs)

        grouped.__nilus_source__ = True
        return grouped

    return wrap(fn) if callable(fn) else wrap


def destination(fn=None, **_hints):
    """Marks the function that receives a destination's batches: fn(items, table), items a list
    of dicts, table a dict with `name` and `columns`."""

    def wrap(f):
        f.__nilus_destination__ = True
        return f

    return wrap(fn) if callable(fn) else wrap


class _Current:
    """What the running resource sees: nilus.current.resource_state()."""

    def __init__(self):
        self._resource = None

    def resource_state(self):
        """The state dict of the running resource: change it and nilus commits it with the
        resource's rows; the next run gets it back."""
        if self._resource is None:
            raise RuntimeError("nilus.current.resource_state() is available while a resource is read")
        return self._resource.state


current = _Current()
