#include "nilus/python/python.h"

#include <pybind11/embed.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "nilus/core/secrets.h"
#include "nilus/core/strings.h"
#include "nilus/python/embedded_package.h"

extern char** environ;

// print(), sys.stderr and the logging module of connector code, into nilus's log.
PYBIND11_EMBEDDED_MODULE(_nilus_native, m) {
  m.def("log", [](const std::string& level, const std::string& line) {
    spdlog::log(level == "debug"   ? spdlog::level::debug
                : level == "warn"  ? spdlog::level::warn
                : level == "error" ? spdlog::level::err
                                   : spdlog::level::info,
                "{}", line);
  });
}

// The interpreter lives as long as the process and is never finalized: what it holds at exit
// is not a leak. Read by LeakSanitizer in the sanitized test build; unused otherwise.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpython3\n"; }

namespace nilus::python {

namespace {

/// Makes the embedded modules importable: a finder on sys.meta_path that runs their source.
constexpr char kBootstrap[] = R"py(
import importlib.abc, importlib.util, sys

class _EmbeddedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, modules):
        self.modules = modules

    def find_spec(self, name, path=None, target=None):
        if name not in self.modules:
            return None
        return importlib.util.spec_from_loader(name, self, origin="<nilus>/" + name,
                                               is_package=self.modules[name][1])

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source, package = self.modules[module.__name__]
        filename = "<nilus>/" + module.__name__.replace(".", "/") + ("/__init__.py" if package else ".py")
        exec(compile(source, filename, "exec"), module.__dict__)

sys.meta_path.insert(0, _EmbeddedFinder(_modules))
)py";

/// Environment variables whose names say they hold secrets: their values are masked wherever
/// connector code prints them.
void RegisterEnvironmentSecrets() {
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq + 1 >= entry.size()) continue;
    std::string name = ToLower(std::string(entry.substr(0, eq)));
    std::string_view value = entry.substr(eq + 1);
    if (IsSecretName(name) && value.size() >= 4) RegisterSecret(std::string(value));
  }
}

Status StartOnce() {
  RegisterEnvironmentSecrets();
#ifdef __SANITIZE_ADDRESS__
  // Python's own allocator keeps objects in arenas LeakSanitizer does not scan, so what they
  // point to (an SSL context of requests) would look leaked; malloc makes them visible.
  setenv("PYTHONMALLOC", "malloc", 0);
#endif
  try {
    py::initialize_interpreter(/*init_signal_handlers=*/false, 0, nullptr, /*add_program_dir_to_path=*/false);
  } catch (const std::exception& e) {
    return Status::FailedPrecondition("the embedded Python interpreter did not start: {}", e.what());
  }
  Status status;
  try {
    py::dict modules;
    for (size_t i = 0; i < kEmbeddedModuleCount; ++i) {
      const EmbeddedModule& m = kEmbeddedModules[i];
      modules[m.name] = py::make_tuple(m.source, m.package);
    }
    py::dict scope;
    scope["_modules"] = modules;
    py::exec(kBootstrap, scope);
    py::module_ runtime = py::module_::import("nilus._runtime");
    runtime.attr("install_log")(py::module_::import("_nilus_native").attr("log"));
    if (const char* venv = std::getenv("VIRTUAL_ENV"); venv && *venv) {
      py::list added = runtime.attr("add_virtualenv")(venv);
      for (const auto& dir : added)
        spdlog::info("Python packages of the virtualenv: {}", py::str(dir).cast<std::string>());
    }
  } catch (py::error_already_set& e) {
    status = ErrorStatus(e, "starting the embedded Python interpreter");
  }
  // Threads that call Python take the GIL; this one does not keep it.
  PyEval_SaveThread();
  return status;
}

}  // namespace

Status Start() {
  static std::once_flag once;
  static Status started;
  std::call_once(once, [] { started = StartOnce(); });
  return started;
}

py::module_ Runtime() { return py::module_::import("nilus._runtime"); }

namespace {

Status AddDir(const std::string& dir, const char* function) {
  NILUS_RETURN_NOT_OK(Start());
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::InvalidInput("the Python code folder {} does not exist (or is not a folder)", dir);
  }
  py::gil_scoped_acquire gil;
  try {
    Runtime().attr(function)(std::filesystem::absolute(dir).string());
  } catch (py::error_already_set& e) {
    return ErrorStatus(e, "adding the Python code folder " + dir);
  }
  return Status::OK();
}

}  // namespace

Status AddCodeDir(const std::string& dir) { return AddDir(dir, "add_code_dir"); }

Status AddImportRoot(const std::string& dir) { return AddDir(dir, "add_import_root"); }

Result<py::object> FindClass(const std::string& name, const char* base) {
  try {
    py::object cls = Runtime().attr("find_class")(name, py::module_::import("nilus").attr(base));
    return cls;
  } catch (py::error_already_set& e) {
    if (e.matches(PyExc_LookupError)) {
      return Status::InvalidInput("custom://{}: {}", name, MaskSecrets(py::str(e.value()).cast<std::string>()));
    }
    return ErrorStatus(e, "loading custom://" + name);
  }
}

Status ErrorStatus(py::error_already_set& e, std::string_view what) {
  bool transient = false;
  std::string text, last;
  try {
    py::tuple described = Runtime().attr("describe")(e.value());
    transient = described[0].cast<bool>();
    text = MaskSecrets(described[1].cast<std::string>());
  } catch (py::error_already_set& inner) {
    text = MaskSecrets(e.what());
  }
  size_t cut = text.rfind('\n');
  last = cut == std::string::npos ? text : text.substr(cut + 1);
  if (transient) {
    spdlog::warn("{}: Python raised (a retry may succeed):\n{}", what, text);
    return Status::Unavailable("{}: {}", what, last);
  }
  spdlog::error("{}: Python raised:\n{}", what, text);
  return Status::FailedPrecondition("{}: {} (the traceback is in the log above)", what, last);
}

}  // namespace nilus::python
