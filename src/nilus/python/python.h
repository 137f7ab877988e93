#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>

#include "nilus/core/status.h"

namespace nilus::python {

namespace py = pybind11;

/// Starts the embedded interpreter, once per process and from any thread: Debian's Python 3
/// without its signal handlers (nilus's own stop them), with the `nilus` package built into
/// the binary importable, `print` and `sys.stderr` sent to nilus's log (so secrets are masked
/// there), the site-packages of `$VIRTUAL_ENV` first on the path, and the values of environment
/// variables with secret names (…_TOKEN, …_PASSWORD, …) registered as secrets. The calling
/// thread does not keep the GIL: code that calls Python takes it (py::gil_scoped_acquire).
Status Start();

/// Adds a folder of connector code: its modules are importable and searched for classes by name.
Status AddCodeDir(const std::string& dir);
/// Makes the modules below `dir` importable by their path from it (a repository's root, so
/// that `from examples.custom.x import y` works), without searching it for classes.
Status AddImportRoot(const std::string& dir);

/// The class called `name` (a subclass of nilus.CustomSource or nilus.CustomDestination, as
/// `base` says: "CustomSource" or "CustomDestination") from the code folders. The GIL must be
/// held.
Result<py::object> FindClass(const std::string& name, const char* base);

/// The Status of the Python exception `e` (the GIL held): Unavailable when a retry may succeed
/// (nilus.RetryableError, ConnectionError, TimeoutError, requests' connection errors and
/// timeouts, HTTP 429 and 5xx), FailedPrecondition otherwise (the connector's code must be
/// fixed). The message is `what` and the exception's last line; the whole traceback goes to
/// the log. Secrets are masked in both.
Status ErrorStatus(py::error_already_set& e, std::string_view what);

/// The `nilus._runtime` module (the GIL held).
py::module_ Runtime();

}  // namespace nilus::python
