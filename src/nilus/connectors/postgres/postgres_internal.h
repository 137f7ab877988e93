#pragma once

#include <memory>

#include "nilus/connectors/connector.h"
#include "nilus/connectors/postgres/pg_connection.h"
#include "nilus/connectors/postgres/pg_types.h"

namespace nilus {

/// One column of a PostgreSQL table or query, as the catalog describes it.
struct PgColumn {
  std::string name;
  PgColumnType type;
  std::string plain_type;  ///< the type without modifiers: numeric, character varying …
};

/// The columns of table `qualified` ("schema"."table"), in order.
Result<std::vector<PgColumn>> PgTableColumns(PgConnection& conn, const std::string& qualified);

Result<std::unique_ptr<Source>> OpenPostgresSource(const Uri& uri, std::stop_token stop);
Result<std::unique_ptr<Destination>> OpenPostgresDestination(const Uri& uri, std::stop_token stop);

}  // namespace nilus
