#pragma once

#include <memory>

#include "nilus/connectors/connector.h"

namespace nilus {

Result<std::unique_ptr<Source>> OpenPostgresSource(const Uri& uri);
Result<std::unique_ptr<Destination>> OpenPostgresDestination(const Uri& uri);

}  // namespace nilus
