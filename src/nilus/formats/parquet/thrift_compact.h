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

/// Reads Thrift's compact protocol from a buffer: the page headers and footer of a Parquet file
/// (any writer's). A struct is read as a loop over its fields; a field the caller does not know
/// is skipped. Input that ends early or is malformed sets `failed()` and reads as zeros, so the
/// caller checks once at the end.
class CompactReader {
 public:
  /// Wire types of fields and list elements.
  enum Wire : uint8_t {
    kTrue = 1,
    kFalse = 2,
    kByte = 3,
    kI16 = 4,
    kI32 = 5,
    kI64 = 6,
    kDouble = 7,
    kBinary = 8,
    kList = 9,
    kSet = 10,
    kMap = 11,
    kStruct = 12
  };

  CompactReader(const char* data, size_t size) : p_(data), end_(data + size) {}

  bool failed() const { return failed_; }
  /// The bytes read so far.
  size_t consumed(const char* start) const { return static_cast<size_t>(p_ - start); }

  /// Enters a struct (a field of type kStruct, a list element, or the message itself).
  void BeginStruct() {
    if (ids_.size() > kMaxDepth) return Fail();
    ids_.push_back(last_);
    last_ = 0;
  }
  /// The next field of the current struct: false at its end (the struct is then left).
  bool NextField(int16_t* id, uint8_t* wire) {
    if (failed_) return false;
    uint8_t b = Byte();
    if (b == 0 || failed_) {
      if (!ids_.empty()) {
        last_ = ids_.back();
        ids_.pop_back();
      }
      return false;
    }
    *wire = b & 0x0F;
    int delta = b >> 4;
    *id = delta ? static_cast<int16_t>(last_ + delta) : static_cast<int16_t>(ZigZag(Varint()));
    last_ = *id;
    return !failed_;
  }
  /// A field's value, by its wire type.
  bool Bool(uint8_t wire) { return wire == kTrue; }
  int8_t I8() { return static_cast<int8_t>(Byte()); }
  int32_t I32() { return static_cast<int32_t>(ZigZag(Varint())); }
  int64_t I64() { return ZigZag(Varint()); }
  std::string_view Binary() {
    uint64_t n = Varint();
    if (n > static_cast<uint64_t>(end_ - p_)) {
      Fail();
      return {};
    }
    std::string_view v(p_, n);
    p_ += n;
    return v;
  }
  /// A list's header: its size (the elements follow).
  size_t List(uint8_t* element_wire) {
    uint8_t b = Byte();
    *element_wire = b & 0x0F;
    uint64_t n = b >> 4;
    if (n == 15) n = Varint();
    // Every element takes at least a byte: a larger count is malformed.
    if (n > static_cast<uint64_t>(end_ - p_)) {
      Fail();
      return 0;
    }
    return n;
  }
  /// Skips a value of `wire` type.
  void Skip(uint8_t wire) {
    if (++depth_ > kMaxDepth) return Fail();
    SkipValue(wire);
    --depth_;
  }

 private:
  void SkipValue(uint8_t wire) {
    switch (wire) {
      case kTrue:
      case kFalse:
        return;
      case kByte:
        Byte();
        return;
      case kI16:
      case kI32:
      case kI64:
        Varint();
        return;
      case kDouble:
        Advance(8);
        return;
      case kBinary:
        Binary();
        return;
      case kList:
      case kSet: {
        uint8_t element;
        for (size_t n = List(&element); n > 0 && !failed_; --n) SkipElement(element);
        return;
      }
      case kMap: {
        uint64_t n = Varint();
        if (n == 0) return;
        uint8_t types = Byte();
        for (; n > 0 && !failed_; --n) {
          SkipElement(types >> 4);
          SkipElement(types & 0x0F);
        }
        return;
      }
      case kStruct: {
        BeginStruct();
        int16_t id;
        uint8_t w;
        while (NextField(&id, &w)) Skip(w);
        return;
      }
      default:
        Fail();
    }
  }

  static constexpr size_t kMaxDepth = 64;
  static int64_t ZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }
  void Fail() {
    failed_ = true;
    p_ = end_;
  }
  uint8_t Byte() {
    if (p_ >= end_) {
      Fail();
      return 0;
    }
    return static_cast<uint8_t>(*p_++);
  }
  void Advance(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) return Fail();
    p_ += n;
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = Byte();
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    Fail();
    return 0;
  }
  /// A list element: booleans take a byte there.
  void SkipElement(uint8_t wire) {
    if (wire == kTrue || wire == kFalse) {
      Byte();
    } else {
      Skip(wire);
    }
  }

  const char* p_;
  const char* end_;
  bool failed_ = false;
  size_t depth_ = 0;
  int16_t last_ = 0;
  std::vector<int16_t> ids_;
};

}  // namespace nilus::parquet
