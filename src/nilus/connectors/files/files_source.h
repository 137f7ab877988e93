#pragma once

#include "nilus/connectors/registry.h"

namespace nilus {

/// Registers the files source: `file://` (format from the extension), `csv://`, `jsonl://`.
Status RegisterFiles(ConnectorRegistry& registry);

}  // namespace nilus
