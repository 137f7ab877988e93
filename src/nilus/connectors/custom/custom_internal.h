#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <stop_token>

#include "nilus/connectors/connector.h"
#include "nilus/core/options.h"
#include "nilus/core/uri.h"

namespace nilus {

/// Checks that a custom:// address names a class: custom://ClassName[?param=value…].
Status CheckClassName(const Uri& uri);
/// The keyword arguments nilus passes to nilus_source and nilus_dest: the options a connector
/// may want to push down (incremental_key, interval_start, interval_end, page_size; None when
/// not given). The GIL must be held.
pybind11::dict CustomKwargs(const SourceOptions& options);

Result<std::unique_ptr<Source>> OpenPythonSource(const Uri& uri, std::stop_token stop);
Result<std::unique_ptr<Destination>> OpenPythonDestination(const Uri& uri, std::stop_token stop);

}  // namespace nilus
