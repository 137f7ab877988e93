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

}  // namespace

Result<Warehouse> LocalWarehouse(const Uri& uri) {
  std::string path = uri.host().empty() ? uri.path() : uri.host() + uri.path();
  if (path.empty() || path == "/") {
    return Status::InvalidInput(
        "{}: a lakehouse address names its warehouse folder: lakehouse:///absolute/path or lakehouse://relative/path",
        uri.Masked());
  }
  std::string root = fs::absolute(path).lexically_normal().string();
  return Warehouse{root, root};
}

Result<Warehouse> S3Warehouse(const Uri& uri) {
  std::string prefix = uri.path();
  while (EndsWith(prefix, "/")) prefix.pop_back();
  if (uri.host().empty() || prefix.find("//") != std::string::npos || prefix.find("/../") != std::string::npos ||
      prefix.find("/./") != std::string::npos || EndsWith(prefix, "/..") || EndsWith(prefix, "/.")) {
    return Status::InvalidInput("{}: an S3 warehouse is s3://bucket or s3://bucket/prefix", uri.Masked());
  }
  return Warehouse{"s3://" + uri.host() + prefix, fs::path(NilusHome()) / "lakehouse" / (uri.host() + prefix)};
}

Result<std::unique_ptr<SqlDestination>> OpenCatalog(const Warehouse& warehouse, std::stop_token stop) {
  std::unique_ptr<SqlDestination> catalog;
  if (const char* address = std::getenv("NILUS_LAKEHOUSE_CATALOG"); address && *address) {
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
  NILUS_RETURN_NOT_OK(catalog->dialect().Exec(kCreateCatalog));
  return catalog;
}

}  // namespace nilus
