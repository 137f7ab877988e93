#pragma once

#include <filesystem>
#include <memory>
#include <stop_token>
#include <string>

#include "nilus/connectors/sql/sql_destination.h"
#include "nilus/core/status.h"
#include "nilus/core/uri.h"
#include "nilus/formats/parquet/parquet_writer.h"

namespace nilus {

/// The catalog's name in the Iceberg SQL catalog tables (what PyIceberg's SqlCatalog and the
/// JDBC catalog are opened with).
inline constexpr char kCatalogName[] = "nilus";

/// A lakehouse warehouse: where its tables' files are, and where its catalog is.
struct Warehouse {
  /// A folder on local disk, or s3://bucket[/prefix].
  std::string root;
  /// The folder of the SQLite catalog (catalog.db): the warehouse folder itself on local disk,
  /// $NILUS_HOME/lakehouse/bucket/prefix for S3 (an object store cannot hold a SQLite database).
  /// NILUS_LAKEHOUSE_CATALOG (a PostgreSQL database) takes its place when set.
  std::filesystem::path catalog_folder;
  /// How the data files are compressed: the address's `?compression=` (zstd, the default;
  /// snappy; none).
  parquet::Codec codec = parquet::Codec::kZstd;
};

/// The warehouse of `lakehouse:///absolute/path` or `lakehouse://relative/path`.
Result<Warehouse> LocalWarehouse(const Uri& uri);
/// The warehouse of `s3://bucket` or `s3://bucket/prefix`.
Result<Warehouse> S3Warehouse(const Uri& uri);
/// Refuses the address parameters of a warehouse that is read (they are for writing).
Status CheckNoParameters(const Uri& uri);

/// Opens the warehouse's catalog, creating its tables when they are missing.
Result<std::unique_ptr<SqlDestination>> OpenCatalog(const Warehouse& warehouse, std::stop_token stop);

}  // namespace nilus
