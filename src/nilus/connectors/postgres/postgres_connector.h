#pragma once

#include "nilus/connectors/registry.h"

namespace nilus {

/// Registers the PostgreSQL source and destination (`postgresql://`, `postgres://`).
Status RegisterPostgres(ConnectorRegistry& registry);

}  // namespace nilus
