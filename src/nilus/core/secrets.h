#pragma once

#include <string>
#include <string_view>

namespace nilus {

/// Remembers a secret (a password from an address, a value interpolated from the environment)
/// so that `MaskSecrets` hides it in every log line and error message of the process.
void RegisterSecret(const std::string& secret);

/// Whether a parameter of this name holds a secret (password, token, secret, API or access key):
/// its value is registered when an address or option gives it.
bool IsSecretName(std::string_view name);

/// Replaces every registered secret in `text` with "***".
std::string MaskSecrets(std::string_view text);

}  // namespace nilus
