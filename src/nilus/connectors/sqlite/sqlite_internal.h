#pragma once

#include <memory>

#include "nilus/connectors/connector.h"

namespace nilus {

Result<std::unique_ptr<Source>> OpenSqliteSource(const Uri& uri);
Result<std::unique_ptr<Destination>> OpenSqliteDestination(const Uri& uri);

}  // namespace nilus
