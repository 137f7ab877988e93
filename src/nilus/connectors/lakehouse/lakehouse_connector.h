#pragma once

#include "nilus/connectors/registry.h"

namespace nilus {

/// Registers the lakehouse destination: Apache Iceberg tables of Parquet files in a warehouse
/// folder (`lakehouse://`) with an Iceberg SQL catalog in SQLite beside them, or under a prefix of
/// an S3 bucket (`s3://`) with the catalog under $NILUS_HOME.
Status RegisterLakehouse(ConnectorRegistry& registry);

}  // namespace nilus
