#pragma once

#include "nilus/storage/storage.h"

namespace nilus {

/// Objects as files under a folder of the local disk; every write is on disk (fsync) when it
/// returns, so that a commit that refers to it afterwards survives a power failure.
std::unique_ptr<Storage> OpenLocalStorage();

}  // namespace nilus
