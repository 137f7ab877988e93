#pragma once

#include "nilus/connectors/registry.h"

namespace nilus {

/// Registers mysql:// and mariadb:// (MySQL and MariaDB servers).
Status RegisterMysql(ConnectorRegistry& registry);

}  // namespace nilus
