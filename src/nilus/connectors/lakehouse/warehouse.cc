#include "nilus/connectors/lakehouse/warehouse.h"

#include <cstdlib>

#include "nilus/connectors/postgres/postgres_internal.h"
#include "nilus/connectors/sqlite/sqlite_internal.h"
#include "nilus/core/home.h"
#include "nilus/core/strings.h"

namespace nilus {

namespace {

namespace fs = std::filesystem;

/// The Iceberg SQL catalog's tables, as the JDBC catalog and PyIceberg's SqlCatalog make them.
constexpr char kCreateCatalog[] = R"sql(
CREATE TABLE IF NOT EXISTS iceberg_tables (
  catalog_name VARCHAR(255) NOT NULL,
  table_namespace VARCHAR(255) NOT NULL,
  table_name VARCHAR(255) NOT NULL,
  metadata_location VARCHAR(1000),
  previous_metadata_location VARCHAR(1000),
  PRIMARY KEY (catalog_name, table_namespace, table_name)
);
CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (
  catalog_name VARCHAR(255) NOT NULL,
  namespace VARCHAR(255) NOT NULL,
  property_key VARCHAR(255) NOT NULL,
  property_value VARCHAR(1000),
  PRIMARY KEY (catalog_name, namespace, property_key)
);
)sql";

Result<parquet::Codec> CodecOf(const Uri& uri) {
  parquet::Codec codec = parquet::Codec::kZstd;
  for (const auto& [key, value] : uri.query()) {
    if (key != "compression") {
      return Status::InvalidInput(
          "{}: unknown lakehouse address parameter '{}'; the one there is: compression (zstd, snappy or none)",
          uri.Masked(), key);
    }
    const std::string v = ToLower(value);
    if (v == "zstd") {
      codec = parquet::Codec::kZstd;
    } else if (v == "snappy") {
      codec = parquet::Codec::kSnappy;
    } else if (v == "none" || v == "uncompressed") {
      codec = parquet::Codec::kNone;
    } else {
      return Status::InvalidInput("{}: compression must be zstd, snappy or none, got '{}'", uri.Masked(), value);
    }
  }
  return codec;
}

}  // namespace

Status CheckNoParameters(const Uri& uri) {
  if (uri.query().empty()) return Status::OK();
  return Status::InvalidInput(
      "{}: a lakehouse table that is read takes no address parameters (compression is for writing); remove '?{}'",
      uri.Masked(), uri.query().front().first);
}

Result<Warehouse> LocalWarehouse(const Uri& uri) {
  std::string path = uri.host().empty() ? uri.path() : uri.host() + uri.path();
  if (path.empty() || path == "/") {
    return Status::InvalidInput(
        "{}: a lakehouse address names its warehouse folder: lakehouse:///absolute/path or lakehouse://relative/path",
        uri.Masked());
  }
  std::string root = fs::absolute(path).lexically_normal().string();
  NILUS_ASSIGN_OR_RAISE(parquet::Codec codec, CodecOf(uri));
  return Warehouse{root, root, codec};
}

Result<Warehouse> S3Warehouse(const Uri& uri) {
  std::string prefix = uri.path();
  while (EndsWith(prefix, "/")) prefix.pop_back();
  if (uri.host().empty() || prefix.find("//") != std::string::npos || prefix.find("/../") != std::string::npos ||
      prefix.find("/./") != std::string::npos || EndsWith(prefix, "/..") || EndsWith(prefix, "/.")) {
    return Status::InvalidInput("{}: an S3 warehouse is s3://bucket or s3://bucket/prefix", uri.Masked());
  }
  NILUS_ASSIGN_OR_RAISE(parquet::Codec codec, CodecOf(uri));
  return Warehouse{"s3://" + uri.host() + prefix, fs::path(NilusHome()) / "lakehouse" / (uri.host() + prefix), codec};
}

Result<std::unique_ptr<SqlDestination>> OpenCatalog(const Warehouse& warehouse, std::stop_token stop) {
  std::unique_ptr<SqlDestination> catalog;
  const char* address = std::getenv("NILUS_LAKEHOUSE_CATALOG");
  const bool shared = address && *address;
  if (shared) {
    NILUS_ASSIGN_OR_RAISE(Uri uri, Uri::Parse(address));
    if (uri.scheme() != "postgresql" && uri.scheme() != "postgres") {
      return Status::InvalidInput("NILUS_LAKEHOUSE_CATALOG must be a postgresql:// address, got {}", uri.Masked());
    }
    auto opened = OpenPostgresSql(uri, stop);
    if (!opened.ok()) return opened.status().WithContext("the lakehouse catalog (NILUS_LAKEHOUSE_CATALOG)");
    catalog = opened.MoveValue();
  } else {
    std::error_code ec;
    fs::create_directories(warehouse.catalog_folder, ec);
    if (ec) {
      return Status::IOError("cannot create the folder {}: {}", warehouse.catalog_folder.string(), ec.message());
    }
    NILUS_ASSIGN_OR_RAISE(catalog, OpenSqliteFile((warehouse.catalog_folder / "catalog.db").string(), stop));
  }
  // Machines that share a catalog in PostgreSQL may create it at once, which CREATE TABLE IF NOT
  // EXISTS is not safe against: they take turns.
  NILUS_RETURN_NOT_OK(catalog->dialect().Exec(
      shared ? fmt::format("BEGIN; SELECT pg_advisory_xact_lock(hashtext('nilus iceberg catalog')); {} COMMIT;",
                           kCreateCatalog)
             : std::string(kCreateCatalog)));
  return catalog;
}

}  // namespace nilus
