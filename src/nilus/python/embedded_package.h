#pragma once

#include <cstddef>

namespace nilus::python {

/// A module of the `nilus` Python package, built into the binary (python/package/, turned into
/// embedded_package.cc by cmake/embed_python.cmake).
struct EmbeddedModule {
  const char* name;    ///< "nilus", "nilus._api"
  const char* source;  ///< its Python source
  bool package;        ///< an __init__.py
};

extern const EmbeddedModule kEmbeddedModules[];
extern const size_t kEmbeddedModuleCount;

}  // namespace nilus::python
