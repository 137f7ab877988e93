#include "nilus/connectors/lakehouse/sort_key.h"

#include <cstring>

#include "nilus/core/values.h"

namespace nilus::iceberg {

namespace {

void AppendBigEndian(uint64_t v, std::string& key) {
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(v >> shift));
}

}  // namespace

void AppendSortKey(const Column* column, int64_t r, std::string& key) {
  if (column == nullptr || column->IsNull(r)) {
    key.push_back('\0');
    return;
  }
  key.push_back('\1');
  const LogicalType& type = column->type();
  switch (type.layout()) {
    case PhysicalLayout::kBool:
      key.push_back(column->Bool(r) ? '\1' : '\0');
      return;
    case PhysicalLayout::kInt64:
      AppendBigEndian(static_cast<uint64_t>(column->Int64(r)) ^ (uint64_t{1} << 63), key);
      return;
    case PhysicalLayout::kDouble: {
      uint64_t bits;
      const double v = column->Double(r);
      std::memcpy(&bits, &v, sizeof bits);
      AppendBigEndian(bits >> 63 ? ~bits : bits | (uint64_t{1} << 63), key);
      return;
    }
    case PhysicalLayout::kVarLen:
      break;
  }
  const std::string_view v = column->View(r);
  __int128 unscaled = 0;
  if (type.id == TypeId::kDecimal && type.precision >= 1 && type.precision <= 38 &&
      ParseUnscaled(v, type.precision, type.scale, &unscaled)) {
    const auto u = static_cast<unsigned __int128>(unscaled) ^ (static_cast<unsigned __int128>(1) << 127);
    AppendBigEndian(static_cast<uint64_t>(u >> 64), key);
    AppendBigEndian(static_cast<uint64_t>(u), key);
    return;
  }
  // Bytes, with 0 escaped and a terminator that sorts below every byte, so that a value sorts
  // before the values it is a prefix of.
  for (char c : v) {
    key.push_back(c);
    if (c == '\0') key.push_back('\1');
  }
  key.append(2, '\0');
}

}  // namespace nilus::iceberg
