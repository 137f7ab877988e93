#pragma once

#include "nilus/connectors/registry.h"

namespace nilus {

/// Registers custom:// — sources and destinations written in Python (docs/custom-connectors.md),
/// run by the embedded interpreter (python/).
Status RegisterCustom(ConnectorRegistry& registry);

}  // namespace nilus
