#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nilus::parquet {

/// Writes Thrift's compact protocol, in which Parquet encodes its page headers and footer:
/// structs of numbered fields, lists, and the scalar types Parquet uses. The caller writes the
/// fields of a struct in increasing id order and ends every struct it began.
class CompactWriter {
 public:
  /// Element types of a list.
  enum class Type : uint8_t { kBool = 1, kI32 = 5, kI64 = 6, kBinary = 8, kStruct = 12 };

  explicit CompactWriter(std::string& out) : out_(out) {}

  void Bool(int16_t id, bool v) { FieldHeader(id, v ? 1 : 2); }
  void I16(int16_t id, int16_t v) {
    FieldHeader(id, 4);
    Varint(ZigZag(v));
  }
  void I32(int16_t id, int32_t v) {
    FieldHeader(id, 5);
    Varint(ZigZag(v));
  }
  void I64(int16_t id, int64_t v) {
    FieldHeader(id, 6);
    Varint(ZigZag(v));
  }
  void Binary(int16_t id, std::string_view v) {
    FieldHeader(id, 8);
    Bytes(v);
  }
  /// A struct-valued field; its fields follow, then EndStruct.
  void BeginStruct(int16_t id) {
    FieldHeader(id, 12);
    ids_.push_back(last_);
    last_ = 0;
  }
  /// Ends the innermost struct (or, at the top level, the message).
  void EndStruct() {
    out_.push_back('\0');
    if (!ids_.empty()) {
      last_ = ids_.back();
      ids_.pop_back();
    }
  }
  /// A list-valued field of `n` elements of `type`; the elements follow (BeginListStruct /
  /// EndStruct for structs).
  void BeginList(int16_t id, Type type, size_t n) {
    FieldHeader(id, 9);
    auto t = static_cast<uint8_t>(type);
    if (n < 15) {
      out_.push_back(static_cast<char>(n << 4 | t));
    } else {
      out_.push_back(static_cast<char>(0xF0 | t));
      Varint(n);
    }
  }
  void ListI32(int32_t v) { Varint(ZigZag(v)); }
  /// Bytes another CompactWriter wrote (a list element that is a whole struct).
  void Raw(std::string_view bytes) { out_.append(bytes); }
  void ListBinary(std::string_view v) { Bytes(v); }
  void BeginListStruct() {
    ids_.push_back(last_);
    last_ = 0;
  }

 private:
  static uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Bytes(std::string_view v) {
    Varint(v.size());
    out_.append(v);
  }
  void FieldHeader(int16_t id, uint8_t type) {
    int delta = id - last_;
    if (delta > 0 && delta <= 15) {
      out_.push_back(static_cast<char>(delta << 4 | type));
    } else {
      out_.push_back(static_cast<char>(type));
      Varint(ZigZag(id));
    }
    last_ = id;
  }

  std::string& out_;
  int16_t last_ = 0;
  std::vector<int16_t> ids_;
};

}  // namespace nilus::parquet
