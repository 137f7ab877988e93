#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nilus/core/status.h"
#include "nilus/formats/output_file.h"

namespace nilus::avro {

/// Appends values in Avro's binary encoding. The caller follows the schema it declared: a
/// record is its fields in order, a union the branch index then the value, an array or map
/// its items in one block (`BeginBlock(n)` … `EndBlocks()`; a map's items are key then value).
class Encoder {
 public:
  explicit Encoder(std::string& out) : out_(out) {}

  void Null() {}
  void Bool(bool v) { out_.push_back(v ? 1 : 0); }
  void Int(int32_t v) { Long(v); }
  void Long(int64_t v) {
    uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    while (z >= 0x80) {
      out_.push_back(static_cast<char>(z | 0x80));
      z >>= 7;
    }
    out_.push_back(static_cast<char>(z));
  }
  void Double(double v) { out_.append(reinterpret_cast<const char*>(&v), 8); }
  void Bytes(std::string_view v) {
    Long(static_cast<int64_t>(v.size()));
    out_.append(v);
  }
  void String(std::string_view v) { Bytes(v); }
  void Fixed(std::string_view v) { out_.append(v); }
  void Union(int branch) { Long(branch); }
  /// The start of an array's or map's `n` items (none: just EndBlocks).
  void BeginBlock(int64_t n) {
    if (n > 0) Long(n);
  }
  void EndBlocks() { out_.push_back('\0'); }

 private:
  std::string& out_;
};

/// Appends `value` (JSON as avro::Decode gives it: records as objects, a union as its value,
/// bytes and fixed as strings of raw bytes) in the binary encoding of `schema`. A record's
/// fields are looked up by name (absent: null); a union takes its null branch for null and its
/// first other branch otherwise. `names` holds the named types seen so far.
Status EncodeJson(const nlohmann::json& schema, const nlohmann::json& value, std::string& out,
                  std::map<std::string, nlohmann::json>& names);

enum class Codec { kNull, kDeflate };

/// Writes an Avro object container file: the header (schema, codec, metadata), then blocks of
/// records encoded by the caller, each block compressed and followed by the sync marker.
class FileWriter {
 public:
  /// Creates `path` for records of `schema_json`, with `metadata` (key, value) in its header.
  static Result<std::unique_ptr<FileWriter>> Open(const std::string& path, std::string_view schema_json,
                                                  const std::vector<std::pair<std::string, std::string>>& metadata,
                                                  Codec codec = Codec::kDeflate);

  /// Appends one record, already encoded (see Encoder).
  Status Append(std::string_view record);
  /// Writes the last block and closes the file; returns its size.
  Result<int64_t> Close();

 private:
  FileWriter(std::unique_ptr<OutputFile> file, Codec codec) : file_(std::move(file)), codec_(codec) {}
  Status FlushBlock();

  std::unique_ptr<OutputFile> file_;
  Codec codec_;
  std::string sync_, block_;
  int64_t records_ = 0;
};

}  // namespace nilus::avro
