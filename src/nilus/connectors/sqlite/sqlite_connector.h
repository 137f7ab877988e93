#pragma once

#include "nilus/connectors/registry.h"

namespace nilus {

/// Registers the SQLite source and destination (`sqlite://`).
Status RegisterSqlite(ConnectorRegistry& registry);

}  // namespace nilus
