#include "nilus/core/options.h"

#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <thread>

#include "nilus/core/identifiers.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

enum class Kind { kString, kInt, kBool, kEnum, kList, kMap, kRegexList, kInstant, kPartitions };

/// Who honours an option: the engine, for every source or sink, or the connectors that declare it
/// (SourceTraits::options, DestinationTraits::options).
enum class Scope { kEngine, kConnector };

struct OptionSpec {
  const char* name;
  Kind kind;
  const char* allowed;  // kEnum: "a|b|c"; kInt: minimum as text
  Scope scope;
};

// The contract of DESIGN §1.2: every option Nilus accepts, with its kind.
constexpr OptionSpec kSourceOptions[] = {
    {"source-table", Kind::kString, "", Scope::kEngine},
    {"primary-key", Kind::kList, "", Scope::kEngine},
    {"incremental-key", Kind::kString, "", Scope::kEngine},
    {"interval-start", Kind::kInstant, "", Scope::kEngine},
    {"interval-end", Kind::kInstant, "", Scope::kEngine},
    {"type-hints", Kind::kMap, "", Scope::kEngine},
    {"page-size", Kind::kInt, "1", Scope::kEngine},
    {"extract-parallelism", Kind::kInt, "1", Scope::kConnector},
    {"sql-reflection-level", Kind::kEnum, "none|fast|full", Scope::kConnector},
    {"sql-limit", Kind::kInt, "1", Scope::kConnector},
    {"sql-exclude-columns", Kind::kList, "", Scope::kEngine},
    {"yield-limit", Kind::kInt, "1", Scope::kEngine},
    {"mask", Kind::kMap, "", Scope::kEngine},
    {"max-table-nesting", Kind::kInt, "0", Scope::kConnector},
    {"date-detection", Kind::kBool, "", Scope::kConnector},
    {"columns", Kind::kList, "", Scope::kEngine},
    // CDC (Debezium names, so existing manifests run).
    {"engine", Kind::kString, "", Scope::kConnector},
    {"slot.name", Kind::kString, "", Scope::kConnector},
    {"publication.name", Kind::kString, "", Scope::kConnector},
    {"plugin.name", Kind::kEnum, "pgoutput", Scope::kConnector},
    {"topic.prefix", Kind::kString, "", Scope::kConnector},
    {"table.include.list", Kind::kRegexList, "", Scope::kConnector},
    {"table.exclude.list", Kind::kRegexList, "", Scope::kConnector},
    {"schema.include.list", Kind::kRegexList, "", Scope::kConnector},
    {"schema.exclude.list", Kind::kRegexList, "", Scope::kConnector},
    {"column.include.list", Kind::kRegexList, "", Scope::kConnector},
    {"column.exclude.list", Kind::kRegexList, "", Scope::kConnector},
    {"database.include.list", Kind::kRegexList, "", Scope::kConnector},
    {"database.exclude.list", Kind::kRegexList, "", Scope::kConnector},
    {"database.server.id", Kind::kInt, "1", Scope::kConnector},
    {"collection.include.list", Kind::kRegexList, "", Scope::kConnector},
    {"snapshot.mode", Kind::kEnum, "initial|always|no_data|initial_only|when_needed", Scope::kConnector},
    {"heartbeat.interval.ms", Kind::kInt, "0", Scope::kConnector},
    {"topic.heartbeat.prefix", Kind::kString, "", Scope::kConnector},
    {"max.batch.size", Kind::kInt, "1", Scope::kConnector},
    {"poll.interval.ms", Kind::kInt, "0", Scope::kConnector},
    {"include.schema.changes", Kind::kBool, "", Scope::kConnector},
    {"time.precision.mode", Kind::kEnum, "adaptive|adaptive_time_microseconds|connect", Scope::kConnector},
    {"decimal.handling.mode", Kind::kEnum, "precise|double|string", Scope::kConnector},
    {"include.unknown.datatypes", Kind::kBool, "", Scope::kConnector},
};

constexpr OptionSpec kSinkOptions[] = {
    {"dest-table", Kind::kString, "", Scope::kEngine},
    {"incremental-strategy", Kind::kEnum, "append|replace|merge", Scope::kEngine},
    {"primary-key", Kind::kList, "", Scope::kEngine},
    {"partition-by", Kind::kPartitions, "", Scope::kConnector},
    {"cluster-by", Kind::kList, "", Scope::kConnector},
    {"full-refresh", Kind::kBool, "", Scope::kEngine},
    {"loader-file-size", Kind::kInt, "1", Scope::kConnector},
    {"batch-size", Kind::kInt, "1", Scope::kConnector},
    {"compact-delete-files", Kind::kInt, "0", Scope::kConnector},
    {"compact-delete-percent", Kind::kInt, "0", Scope::kConnector},
    {"staging_bucket", Kind::kString, "", Scope::kConnector},
    {"aws_region", Kind::kString, "", Scope::kConnector},
};

template <size_t N>
std::vector<std::string> Names(const OptionSpec (&specs)[N]) {
  std::vector<std::string> out;
  for (const auto& s : specs) out.emplace_back(s.name);
  return out;
}

template <size_t N>
const OptionSpec* Find(const OptionSpec (&specs)[N], std::string_view name) {
  for (const auto& s : specs) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

std::string Describe(const RawOption::Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return fmt::format("'{}'", Excerpt(*s, 60));
  if (std::holds_alternative<std::vector<std::string>>(v)) return "a list";
  if (std::holds_alternative<RawOption::MapList>(v)) return "a list of maps";
  return "a map";
}

/// A validated option value in the shape its kind calls for.
struct Value {
  std::string text;
  std::vector<std::string> list;
  RawOption::Map map;
  std::vector<PartitionField> partitions;
  int64_t number = 0;
  bool flag = false;
};

Status Bad(const RawOption& opt, std::string_view allowed) {
  return Status::InvalidInput("{}: option '{}' has the value {}; allowed: {}", opt.where, opt.name, Describe(opt.value),
                              allowed);
}

Result<Value> CheckScalar(const OptionSpec& spec, const RawOption& opt, const std::string& text) {
  Value out;
  switch (spec.kind) {
    case Kind::kInstant: {
      int64_t i;
      bool zone;
      double d;
      if (!ParseDate(text, &i) && !ParseTimestamp(text, &i, &zone) && !ParseDouble(text, &d)) {
        return Bad(opt, "an ISO-8601 date (2024-01-31) or date-time (2024-01-31T12:00:00Z), or a number");
      }
      break;
    }
    case Kind::kInt: {
      int64_t min = 0;
      std::from_chars(spec.allowed, spec.allowed + std::char_traits<char>::length(spec.allowed), min);
      if (!ParseBigint(Trim(text), &out.number) || out.number < min) {
        return Bad(opt, fmt::format("a whole number of at least {}", min));
      }
      break;
    }
    case Kind::kBool:
      if (!ParseBool(Trim(text), &out.flag, false)) return Bad(opt, "true or false");
      break;
    case Kind::kEnum: {
      std::vector<std::string> allowed = SplitList(spec.allowed, '|');
      for (const auto& a : allowed) {
        if (ToLower(Trim(text)) == a) {
          out.text = a;
          return out;
        }
      }
      std::string close = ClosestMatch(text, allowed);
      return Bad(opt, Join(allowed, ", ") + (close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close)));
    }
    default:
      break;
  }
  out.text = text;
  return out;
}

Result<Value> CheckList(const OptionSpec& spec, const RawOption& opt) {
  Value out;
  if (const auto* text = std::get_if<std::string>(&opt.value)) {
    out.list = SplitList(*text);
  } else if (const auto* list = std::get_if<std::vector<std::string>>(&opt.value)) {
    for (const auto& item : *list) {
      for (auto& part : SplitList(item)) out.list.push_back(std::move(part));
    }
  } else {
    return Bad(opt, "a comma-separated list");
  }
  if (spec.kind == Kind::kRegexList) {
    for (const auto& pattern : out.list) {
      RE2 re(pattern, RE2::Quiet);
      if (!re.ok()) {
        return Status::InvalidInput("{}: option '{}': '{}' is not a valid regular expression ({})", opt.where, opt.name,
                                    pattern, re.error());
      }
    }
  }
  return out;
}

Result<Value> CheckMap(const RawOption& opt) {
  Value out;
  if (const auto* map = std::get_if<RawOption::Map>(&opt.value)) {
    out.map = *map;
  } else if (const auto* text = std::get_if<std::string>(&opt.value)) {
    // The flag form: "col:type,col2:type2".
    for (const auto& pair : SplitList(*text)) {
      size_t colon = pair.find(':');
      if (colon == std::string::npos || colon == 0) return Bad(opt, "a map, or 'column:value,column:value'");
      out.map.emplace_back(std::string(Trim(pair.substr(0, colon))), std::string(Trim(pair.substr(colon + 1))));
    }
  } else {
    return Bad(opt, "a map of column to value");
  }
  return out;
}

/// One partition field in the list-of-maps form: {column, type, name, index, bucket-count, width}.
Result<PartitionField> CheckPartitionField(const RawOption& opt, const RawOption::Map& map, size_t position) {
  static const std::vector<std::string> kKeys = {"column", "type", "name", "index", "bucket-count", "width"};
  static const std::vector<std::string> kTypes = {"identity", "year", "month", "day", "hour", "bucket", "truncate"};
  PartitionField f;
  f.index = static_cast<int>(position);
  bool has_count = false, has_width = false;
  for (const auto& [key, value] : map) {
    if (key == "column") {
      f.column = value;
    } else if (key == "type") {
      f.transform = ToLower(Trim(value));
      if (std::find(kTypes.begin(), kTypes.end(), f.transform) == kTypes.end()) {
        std::string close = ClosestMatch(value, kTypes);
        return Status::InvalidInput("{}: partition-by item {}: type '{}' is not one of {}{}", opt.where, position + 1,
                                    value, Join(kTypes, ", "),
                                    close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close));
      }
    } else if (key == "name") {
      f.name = value;
    } else if (key == "index" || key == "bucket-count" || key == "width") {
      int64_t n = 0;
      if (!ParseBigint(Trim(value), &n) || n < (key == "index" ? 0 : 1) || n > INT32_MAX) {
        return Status::InvalidInput(
            "{}: partition-by item {}: {} must be a whole number from {} to 2147483647, got '{}'", opt.where,
            position + 1, key, key == "index" ? 0 : 1, value);
      }
      if (key == "index") f.index = static_cast<int>(n);
      if (key == "bucket-count") {
        f.bucket_count = n;
        has_count = true;
      }
      if (key == "width") {
        f.width = n;
        has_width = true;
      }
    } else {
      std::string close = ClosestMatch(key, kKeys);
      return Status::InvalidInput("{}: partition-by item {}: unknown key '{}'{}; keys: {}", opt.where, position + 1,
                                  key, close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close),
                                  Join(kKeys, ", "));
    }
  }
  if (f.column.empty()) {
    return Status::InvalidInput("{}: partition-by item {} has no column; write {{column: <name>, type: day}}",
                                opt.where, position + 1);
  }
  if ((f.transform == "bucket") != has_count) {
    return Status::InvalidInput("{}: partition-by item {} ({}): bucket-count goes with type bucket, and only with it",
                                opt.where, position + 1, f.column);
  }
  if ((f.transform == "truncate") != has_width) {
    return Status::InvalidInput("{}: partition-by item {} ({}): width goes with type truncate, and only with it",
                                opt.where, position + 1, f.column);
  }
  if (f.name.empty()) f.name = f.transform == "identity" ? f.column : f.column + "_" + f.transform;
  return f;
}

/// `partition-by`: a list of columns (identity partitions) or of maps (DESIGN §1.2).
Result<Value> CheckPartitions(const RawOption& opt) {
  Value out;
  if (const auto* maps = std::get_if<RawOption::MapList>(&opt.value)) {
    for (size_t i = 0; i < maps->size(); ++i) {
      NILUS_ASSIGN_OR_RAISE(PartitionField f, CheckPartitionField(opt, (*maps)[i], i));
      out.partitions.push_back(std::move(f));
    }
  } else {
    NILUS_ASSIGN_OR_RAISE(Value columns, CheckList({"partition-by", Kind::kList, "", Scope::kConnector}, opt));
    for (size_t i = 0; i < columns.list.size(); ++i) {
      out.partitions.push_back({columns.list[i], "identity", columns.list[i], static_cast<int>(i), 0});
    }
  }
  std::stable_sort(out.partitions.begin(), out.partitions.end(),
                   [](const auto& a, const auto& b) { return a.index < b.index; });
  for (size_t i = 1; i < out.partitions.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (out.partitions[i].index == out.partitions[j].index || out.partitions[i].name == out.partitions[j].name) {
        return Status::InvalidInput("{}: partition-by has two fields with the {} '{}'", opt.where,
                                    out.partitions[i].name == out.partitions[j].name ? "name" : "index",
                                    out.partitions[i].name == out.partitions[j].name
                                        ? out.partitions[i].name
                                        : std::to_string(out.partitions[i].index));
      }
    }
  }
  return out;
}

Result<Value> Check(const OptionSpec& spec, const RawOption& opt) {
  switch (spec.kind) {
    case Kind::kList:
    case Kind::kRegexList:
      return CheckList(spec, opt);
    case Kind::kMap:
      return CheckMap(opt);
    case Kind::kPartitions:
      return CheckPartitions(opt);
    default:
      break;
  }
  const auto* text = std::get_if<std::string>(&opt.value);
  if (!text) {
    return Bad(opt, spec.kind == Kind::kInstant ? "an ISO-8601 date or date-time, or a number" : "a single value");
  }
  return CheckScalar(spec, opt, *text);
}

template <size_t N>
Status WarnUnknown(const OptionSpec (&specs)[N], const RawOption& opt, std::string_view side) {
  std::string close = ClosestMatch(opt.name, Names(specs));
  if (close.empty()) {
    spdlog::warn("{}: unknown {} option '{}' is ignored", opt.where, side, opt.name);
  } else {
    spdlog::warn("{}: unknown {} option '{}' is ignored; did you mean '{}'?", opt.where, side, opt.name, close);
  }
  return Status::OK();
}

}  // namespace

const LogicalType* SourceOptions::HintFor(std::string_view column) const {
  std::string normal = NormalizeColumnName(column);
  for (const auto& [name, type] : type_hints) {
    if (name == column || NormalizeColumnName(name) == normal) return &type;
  }
  return nullptr;
}

bool SourceOptions::Masks(std::string_view column) const {
  std::string normal = NormalizeColumnName(column);
  return std::any_of(mask.begin(), mask.end(),
                     [&](const auto& rule) { return NormalizeColumnName(rule.first) == normal; });
}

namespace {

bool NamesColumn(const std::vector<std::string>& names, std::string_view column) {
  std::string normal = NormalizeColumnName(column);
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return n == column || NormalizeColumnName(n) == normal; });
}

}  // namespace

bool SourceOptions::Selects(std::string_view column) const {
  if (!columns.empty() && !NamesColumn(columns, column)) return false;
  return !NamesColumn(sql_exclude_columns, column);
}

Status SourceOptions::CheckSelection(const std::vector<std::string>& available, std::string_view what) const {
  for (const auto* option : {&columns, &sql_exclude_columns}) {
    for (const auto& name : *option) {
      if (NamesColumn(available, name)) continue;
      std::string close = ClosestMatch(name, available);
      return Status::InvalidInput("option {} names '{}', which {} does not have{}; its columns are: {}",
                                  option == &columns ? "columns" : "sql-exclude-columns", name, what,
                                  close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close),
                                  Join(available, ", "));
    }
  }
  return Status::OK();
}

std::string_view WriteDispositionName(WriteDisposition d) {
  switch (d) {
    case WriteDisposition::kAppend:
      return "append";
    case WriteDisposition::kReplace:
      return "replace";
    case WriteDisposition::kMerge:
      return "merge";
  }
  return "?";
}

Result<SourceOptions> ParseSourceOptions(const std::vector<RawOption>& raw) {
  SourceOptions o;
  for (const auto& opt : raw) {
    const OptionSpec* spec = Find(kSourceOptions, opt.name);
    if (!spec) {
      NILUS_RETURN_NOT_OK(WarnUnknown(kSourceOptions, opt, "source"));
      continue;
    }
    NILUS_ASSIGN_OR_RAISE(Value v, Check(*spec, opt));
    o.given.emplace_back(opt.name, opt.where);
    const std::string& n = opt.name;
    if (n == "source-table") {
      o.table = v.text;
    } else if (n == "primary-key") {
      o.primary_key = v.list;
    } else if (n == "incremental-key") {
      o.incremental_key = v.text;
    } else if (n == "interval-start") {
      o.interval_start = v.text;
    } else if (n == "interval-end") {
      o.interval_end = v.text;
    } else if (n == "type-hints") {
      for (const auto& [column, type] : v.map) {
        auto parsed = LogicalType::Parse(type);
        if (!parsed.ok()) {
          return parsed.status().WithContext(fmt::format("{}: type-hints for column '{}'", opt.where, column));
        }
        o.type_hints.emplace_back(column, *parsed);
      }
    } else if (n == "page-size") {
      o.page_size = v.number;
    } else if (n == "extract-parallelism") {
      o.extract_parallelism = static_cast<int>(std::min<int64_t>(v.number, 256));
    } else if (n == "sql-reflection-level") {
      o.sql_reflection_level = v.text;
    } else if (n == "sql-limit") {
      o.sql_limit = v.number;
    } else if (n == "sql-exclude-columns") {
      o.sql_exclude_columns = v.list;
    } else if (n == "yield-limit") {
      o.yield_limit = v.number;
    } else if (n == "mask") {
      o.mask = v.map;
    } else if (n == "max-table-nesting") {
      o.max_table_nesting = static_cast<int>(std::min<int64_t>(v.number, 64));
    } else if (n == "date-detection") {
      o.date_detection = v.flag;
    } else if (n == "columns") {
      o.columns = v.list;
    } else {
      // CDC options: kept by name for the change sources.
      o.cdc[n] = std::holds_alternative<std::string>(opt.value) ? std::string(Trim(std::get<std::string>(opt.value)))
                                                                : Join(v.list, ",");
    }
  }
  if ((!o.interval_start.empty() || !o.interval_end.empty()) && o.incremental_key.empty()) {
    return Status::InvalidInput(
        "interval-start/interval-end filter on the incremental key, but no incremental-key is given; add "
        "incremental-key: <column>");
  }
  return o;
}

Result<SinkOptions> ParseSinkOptions(const std::vector<RawOption>& raw, const std::string& where,
                                     const std::vector<std::string>& source_primary_key, bool key_discoverable,
                                     bool change_capture, bool names_tables) {
  SinkOptions o;
  bool has_table = false, has_strategy = false;
  for (const auto& opt : raw) {
    const OptionSpec* spec = Find(kSinkOptions, opt.name);
    if (!spec) {
      NILUS_RETURN_NOT_OK(WarnUnknown(kSinkOptions, opt, "sink"));
      continue;
    }
    NILUS_ASSIGN_OR_RAISE(Value v, Check(*spec, opt));
    o.given.emplace_back(opt.name, opt.where);
    const std::string& n = opt.name;
    if (n == "dest-table") {
      if (change_capture) {
        if (v.text.empty() || v.text.find('.') != std::string::npos) {
          return Status::InvalidInput(
              "{}: dest-table '{}': a change-data-capture pipeline loads every captured table, so dest-table names "
              "the destination schema they land in (e.g. dest-table: retail), not one table",
              opt.where, v.text);
        }
      } else if (!(names_tables && !v.text.empty() && v.text.find('.') == std::string::npos)) {
        NILUS_RETURN_NOT_OK(SplitDestTable(v.text, opt.where).status());
      }
      o.dest_table = v.text;
      has_table = true;
    } else if (n == "incremental-strategy") {
      o.strategy = v.text == "append"    ? WriteDisposition::kAppend
                   : v.text == "replace" ? WriteDisposition::kReplace
                                         : WriteDisposition::kMerge;
      has_strategy = true;
    } else if (n == "primary-key") {
      o.primary_key = v.list;
    } else if (n == "partition-by") {
      o.partition_by = v.partitions;
    } else if (n == "cluster-by") {
      o.cluster_by = v.list;
    } else if (n == "full-refresh") {
      o.full_refresh = v.flag;
    } else if (n == "loader-file-size") {
      o.loader_file_size = v.number;
    } else if (n == "batch-size") {
      o.batch_size = v.number;
    } else if (n == "compact-delete-files") {
      o.compact_delete_files = v.number;
    } else if (n == "compact-delete-percent") {
      o.compact_delete_percent = v.number;
    } else if (n == "staging_bucket") {
      o.staging_bucket = v.text;
    } else if (n == "aws_region") {
      o.aws_region = v.text;
    }
  }
  if (!has_table) {
    return Status::InvalidInput("{}: the sink needs 'dest-table' (schema.table, e.g. raw.orders)", where);
  }
  if (!has_strategy) {
    return Status::InvalidInput("{}: the sink needs 'incremental-strategy': append, replace or merge", where);
  }
  if (o.primary_key.empty()) o.primary_key = source_primary_key;
  if (o.strategy == WriteDisposition::kMerge && o.primary_key.empty() && !key_discoverable) {
    return Status::InvalidInput(
        "{}: incremental-strategy 'merge' needs a primary key to merge on; add primary-key: <column>[,<column>]",
        where);
  }
  return o;
}

int DefaultExtractParallelism() {
  unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cores / 2, 1u, 5u));
}

bool HonouredByEverySource(std::string_view name) {
  const OptionSpec* spec = Find(kSourceOptions, name);
  return spec && spec->scope == Scope::kEngine;
}

bool HonouredByEverySink(std::string_view name) {
  const OptionSpec* spec = Find(kSinkOptions, name);
  return spec && spec->scope == Scope::kEngine;
}

Result<std::pair<std::string, std::string>> SplitDestTable(const std::string& dest_table, const std::string& where) {
  size_t dot = dest_table.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == dest_table.size() ||
      dest_table.find('.', dot + 1) != std::string::npos) {
    return Status::InvalidInput(
        "{}: dest-table '{}' must be schema.table (e.g. raw.{})", where, dest_table,
        dest_table.empty() ? "orders" : dest_table.substr(dot == std::string::npos ? 0 : dot + 1));
  }
  return std::make_pair(dest_table.substr(0, dot), dest_table.substr(dot + 1));
}

}  // namespace nilus
