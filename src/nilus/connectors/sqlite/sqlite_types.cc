#include "nilus/connectors/sqlite/sqlite_types.h"

#include <fmt/format.h>

#include "nilus/core/strings.h"

namespace nilus {

std::string SqliteDeclaredType(const LogicalType& type) {
  switch (type.id) {
    case TypeId::kBool:
      return "BOOLEAN";
    case TypeId::kBigint:
      return "BIGINT";
    case TypeId::kDouble:
      return "DOUBLE";
    case TypeId::kDecimal:
      return type.precision > 0 ? fmt::format("DECIMAL_TEXT({},{})", type.precision, type.scale) : "DECIMAL_TEXT";
    case TypeId::kText:
      return "TEXT";
    case TypeId::kBinary:
      return "BLOB";
    case TypeId::kDate:
      return "DATE";
    case TypeId::kTime:
      return "TIME";
    case TypeId::kTimestamp:
      return "TIMESTAMP";
    case TypeId::kTimestampTz:
      return "TIMESTAMPTZ";
    case TypeId::kJson:
      return "JSON_TEXT";
    case TypeId::kUuid:
      return "UUID";
  }
  return "TEXT";
}

LogicalType LogicalTypeOfDeclared(const std::string& declared, const LogicalType& fallback) {
  std::string d = ToLower(Trim(declared));
  if (d.empty()) return fallback;
  std::string base = std::string(Trim(d.substr(0, d.find('('))));
  if (base == "boolean" || base == "bool") return LogicalType::Bool();
  if (base == "date") return LogicalType::Date();
  if (base == "time") return LogicalType::Time();
  if (base == "timestamp" || base == "datetime") return LogicalType::Timestamp();
  if (base == "timestamptz") return LogicalType::TimestampTz();
  if (base == "json_text" || base == "json" || base == "jsonb") return LogicalType::Json();
  if (base == "uuid") return LogicalType::Uuid();
  if (base == "decimal_text" || base == "decimal" || base == "numeric") {
    auto parsed = LogicalType::Parse("decimal" + d.substr(base.size()));
    return parsed.ok() ? *parsed : LogicalType::Decimal();
  }
  // SQLite's affinity rules (https://sqlite.org/datatype3.html §3.1), in their order.
  if (d.find("int") != std::string::npos) return LogicalType::Bigint();
  if (d.find("char") != std::string::npos || d.find("clob") != std::string::npos ||
      d.find("text") != std::string::npos) {
    return LogicalType::Text();
  }
  if (d.find("blob") != std::string::npos) return LogicalType::Binary();
  if (d.find("real") != std::string::npos || d.find("floa") != std::string::npos ||
      d.find("doub") != std::string::npos) {
    return LogicalType::Double();
  }
  return LogicalType::Decimal();
}

}  // namespace nilus
