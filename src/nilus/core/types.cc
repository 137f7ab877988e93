#include "nilus/core/types.h"

#include <charconv>

#include "nilus/core/strings.h"

namespace nilus {

PhysicalLayout LogicalType::layout() const {
  switch (id) {
    case TypeId::kBool:
      return PhysicalLayout::kBool;
    case TypeId::kBigint:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz:
      return PhysicalLayout::kInt64;
    case TypeId::kDouble:
      return PhysicalLayout::kDouble;
    default:
      return PhysicalLayout::kVarLen;
  }
}

std::string LogicalType::ToString() const {
  switch (id) {
    case TypeId::kBool:
      return "bool";
    case TypeId::kBigint:
      return "bigint";
    case TypeId::kDouble:
      return "double";
    case TypeId::kDecimal:
      return precision > 0 ? fmt::format("decimal({},{})", precision, scale) : "decimal";
    case TypeId::kText:
      return "text";
    case TypeId::kBinary:
      return "binary";
    case TypeId::kDate:
      return "date";
    case TypeId::kTime:
      return "time";
    case TypeId::kTimestamp:
      return "timestamp";
    case TypeId::kTimestampTz:
      return "timestamptz";
    case TypeId::kJson:
      return "json";
    case TypeId::kUuid:
      return "uuid";
  }
  return "?";
}

std::string_view KnownTypeNames() {
  return "text, bigint, double, bool, decimal, decimal(p,s), timestamp, timestamptz, date, time, "
         "json, binary, uuid (aliases: string, varchar, integer, int, float, boolean, datetime)";
}

namespace {

Result<int> ParseTypeParam(std::string_view s) {
  s = Trim(s);
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0 || v > 1000) {
    return Status::InvalidInput("'{}' is not a valid precision or scale", s);
  }
  return v;
}

}  // namespace

Result<LogicalType> LogicalType::Parse(std::string_view raw) {
  std::string name = ToLower(Trim(raw));
  std::string_view params;
  if (auto open = name.find('('); open != std::string::npos) {
    if (name.back() != ')') {
      return Status::InvalidInput("type '{}' has an unclosed '('; allowed: {}", raw, KnownTypeNames());
    }
    params = std::string_view(name).substr(open + 1, name.size() - open - 2);
    name = std::string(Trim(std::string_view(name).substr(0, open)));
  }
  auto plain = [&](LogicalType t) -> Result<LogicalType> {
    if (!params.empty()) {
      // varchar(255) and similar: the length is not a constraint Nilus keeps.
      if (t.id != TypeId::kText) {
        return Status::InvalidInput("type '{}' takes no parameters; allowed: {}", raw, KnownTypeNames());
      }
    }
    return t;
  };
  if (name == "text" || name == "string" || name == "varchar" || name == "char") return plain(Text());
  if (name == "bigint" || name == "integer" || name == "int" || name == "int64" || name == "long") {
    return plain(Bigint());
  }
  if (name == "double" || name == "float" || name == "float64" || name == "real") return plain(Double());
  if (name == "bool" || name == "boolean") return plain(Bool());
  if (name == "timestamp" || name == "datetime") return plain(Timestamp());
  if (name == "timestamptz") return plain(TimestampTz());
  if (name == "date") return plain(Date());
  if (name == "time") return plain(Time());
  if (name == "json") return plain(Json());
  if (name == "binary" || name == "bytes" || name == "blob") return plain(Binary());
  if (name == "uuid") return plain(Uuid());
  if (name == "decimal" || name == "numeric") {
    if (params.empty()) return Decimal();
    auto comma = params.find(',');
    NILUS_ASSIGN_OR_RAISE(int p, ParseTypeParam(params.substr(0, comma)));
    int s = 0;
    if (comma != std::string_view::npos) {
      NILUS_ASSIGN_OR_RAISE(s, ParseTypeParam(params.substr(comma + 1)));
    }
    if (p == 0 || s > p) {
      return Status::InvalidInput(
          "decimal({}) needs a precision of at least 1 and a scale no larger than the precision", params);
    }
    return Decimal(p, s);
  }
  return Status::InvalidInput("unknown type '{}'; allowed: {}", raw, KnownTypeNames());
}

}  // namespace nilus
