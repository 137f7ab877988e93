#pragma once

#include <stop_token>
#include <string>

#include "nilus/core/options.h"
#include "nilus/core/status.h"

namespace nilus::python {

/// Makes the connector code of a `repo:` block importable: a local folder is used in place; a
/// git repository (any URL git takes, file:// included, or a local repository with a ref) is
/// cloned into $NILUS_HOME/repos and checked out at `ref` (a branch, tag or commit; the default
/// branch when empty), fetched again at every run. `base_dir` is searched for the classes; the
/// repository's root is importable too. Starts the interpreter.
Status UseRepo(const CodeRepo& repo, const std::stop_token& stop);

}  // namespace nilus::python
