#pragma once

#include "nilus/connectors/registry.h"

namespace nilus {

/// Registers the lakehouse destination (`lakehouse://`): Apache Iceberg tables of Parquet files
/// in a warehouse folder, with an Iceberg SQL catalog in SQLite beside them.
Status RegisterLakehouse(ConnectorRegistry& registry);

}  // namespace nilus
