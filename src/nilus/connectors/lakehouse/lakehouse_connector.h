#pragma once

#include "nilus/connectors/registry.h"

namespace nilus {

/// Registers the lakehouse destination: Apache Iceberg tables of Parquet files in a warehouse
/// folder (`lakehouse://`) with an Iceberg SQL catalog in SQLite beside them, or under a prefix of
/// an S3 bucket (`s3://`) with the catalog under $NILUS_HOME.
/// And its sources: `lakehouse://` (a table of the warehouse, `source-table: namespace.table`)
/// and `s3://bucket/prefix` (a table of the warehouse there, or objects of the bucket).
Status RegisterLakehouse(ConnectorRegistry& registry);

/// The sources alone (lakehouse_source.cc), for RegisterLakehouse.
Status RegisterLakehouseSources(ConnectorRegistry& registry);

}  // namespace nilus
