#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "nilus/core/status.h"

namespace nilus::avro {

/// An Avro object container file read whole: its header's metadata and its records, decoded
/// along the writer's schema into JSON (records as objects keyed by field name, unions as their
/// value, bytes and fixed as strings of raw bytes, maps as objects, enums as their symbol).
/// For small files: a table format's manifests and manifest lists.
struct File {
  nlohmann::json schema;
  std::map<std::string, std::string> metadata;
  std::vector<nlohmann::json> records;
};

Result<File> ReadFile(const std::string& path);
/// The container file `data`, read from `name` (for messages).
Result<File> Decode(std::string_view data, const std::string& name);

}  // namespace nilus::avro
