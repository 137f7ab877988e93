#include "nilus/normalize/masking.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "nilus/core/identifiers.h"
#include "nilus/core/strings.h"
#include "nilus/core/values.h"

namespace nilus {

namespace {

enum class Yields { kText, kSameType };

struct Algorithm {
  const char* name;
  bool needs_parameter;
  Yields yields;
};

constexpr Algorithm kAlgorithms[] = {
    {"hash", false, Yields::kText},          {"sha256", false, Yields::kText},
    {"md5", false, Yields::kText},           {"hmac", true, Yields::kText},
    {"redact", false, Yields::kText},        {"email", false, Yields::kText},
    {"phone", false, Yields::kText},         {"credit_card", false, Yields::kText},
    {"ssn", false, Yields::kText},           {"partial", true, Yields::kText},
    {"first_letter", false, Yields::kText},  {"stars", false, Yields::kText},
    {"fixed", true, Yields::kText},          {"uuid", false, Yields::kText},
    {"random", false, Yields::kSameType},    {"round", true, Yields::kSameType},
    {"range", true, Yields::kText},          {"noise", true, Yields::kSameType},
    {"date_shift", true, Yields::kSameType}, {"year_only", false, Yields::kText},
    {"month_year", false, Yields::kText},    {"sequential", false, Yields::kSameType},
};

const Algorithm* FindAlgorithm(std::string_view name) {
  for (const auto& a : kAlgorithms) {
    if (name == a.name) return &a;
  }
  return nullptr;
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

enum class DigestKind { kSha256, kMd5 };

/// Digests `v` into `out` (EVP_MAX_MD_SIZE bytes) and returns the digest's length. The
/// algorithms are fetched once and the context is reused: fetching per value takes a lock.
unsigned int DigestTo(DigestKind kind, std::string_view v, unsigned char* out) {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned int n = 0;
  EVP_DigestInit_ex(ctx.get(), kind == DigestKind::kSha256 ? sha256 : md5, nullptr);
  EVP_DigestUpdate(ctx.get(), v.data(), v.size());
  EVP_DigestFinal_ex(ctx.get(), out, &n);
  return n;
}

std::string Digest(DigestKind kind, std::string_view v) {
  unsigned char out[EVP_MAX_MD_SIZE];
  return Hex(out, DigestTo(kind, v, out));
}

uint64_t Hash64(std::string_view v) {
  unsigned char out[EVP_MAX_MD_SIZE];
  DigestTo(DigestKind::kSha256, v, out);
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = h << 8 | out[i];
  return h;
}

/// The code points of a UTF-8 string, as byte ranges.
std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    len = std::min(len, s.size() - i);
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

/// Keeps the first `head` and last `tail` characters, stars in between.
std::string KeepEnds(std::string_view v, size_t head, size_t tail) {
  auto cps = CodePoints(v);
  if (cps.size() <= head + tail) return std::string(cps.size(), '*');
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i < head || i >= cps.size() - tail) {
      out += cps[i];
    } else {
      out += '*';
    }
  }
  return out;
}

/// Replaces digits with '*' except the last `keep_last` of them (or all but the first `keep_first`).
std::string MaskDigits(std::string_view v, size_t keep_first, size_t keep_last) {
  size_t digits = static_cast<size_t>(std::count_if(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }));
  std::string out;
  size_t seen = 0;
  for (char c : v) {
    if (c >= '0' && c <= '9') {
      bool keep = seen < keep_first || seen >= digits - std::min(keep_last, digits);
      out += keep ? c : '*';
      ++seen;
    } else {
      out += c;
    }
  }
  return out;
}

Result<double> NumberParameter(const MaskRule& r, bool positive) {
  double v;
  if (!ParseDouble(r.parameter, &v) || (positive && v <= 0)) {
    return Status::InvalidInput("mask '{}': {}:{} needs a {}number, got '{}'", r.column, r.algorithm, r.parameter,
                                positive ? "positive " : "", r.parameter);
  }
  return v;
}

bool IsTextual(const LogicalType& t) { return t.id == TypeId::kText || t.id == TypeId::kJson; }

}  // namespace

std::string_view KnownMaskAlgorithms() {
  return "hash, sha256, md5, hmac:KEY, redact, email, phone, credit_card, ssn, partial:N, first_letter, stars, "
         "fixed:VALUE, uuid, sequential, random, round:N, range:N, noise:P, date_shift:N, year_only, month_year";
}

Result<Masker> Masker::Make(const std::vector<std::pair<std::string, std::string>>& mask,
                            const std::vector<std::pair<std::string, LogicalType>>& type_hints) {
  Masker m;
  for (const auto& [column, spec] : mask) {
    MaskRule rule{NormalizeColumnName(column), spec, ""};
    if (size_t colon = spec.find(':'); colon != std::string::npos) {
      rule.algorithm = spec.substr(0, colon);
      rule.parameter = spec.substr(colon + 1);
    }
    rule.algorithm = ToLower(Trim(rule.algorithm));
    const Algorithm* a = FindAlgorithm(rule.algorithm);
    if (!a) {
      std::vector<std::string> names;
      for (const auto& k : kAlgorithms) names.emplace_back(k.name);
      std::string close = ClosestMatch(rule.algorithm, names);
      return Status::InvalidInput("mask '{}': unknown algorithm '{}'{}; allowed: {}", column, rule.algorithm,
                                  close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close),
                                  KnownMaskAlgorithms());
    }
    if (a->needs_parameter && rule.parameter.empty()) {
      return Status::InvalidInput("mask '{}': {} needs a parameter, as in {}:<value>", column, rule.algorithm,
                                  rule.algorithm);
    }
    if (!a->needs_parameter && !rule.parameter.empty()) {
      return Status::InvalidInput("mask '{}': {} takes no parameter, got '{}'", column, rule.algorithm, rule.parameter);
    }
    if (rule.algorithm == "partial" || rule.algorithm == "date_shift" || rule.algorithm == "round" ||
        rule.algorithm == "range") {
      int64_t n;
      if (!ParseBigint(rule.parameter, &n) || n < (rule.algorithm == "partial" ? 0 : 1)) {
        return Status::InvalidInput("mask '{}': {}:{} needs a whole number{}", column, rule.algorithm, rule.parameter,
                                    rule.algorithm == "partial" ? "" : " of at least 1");
      }
    }
    if (rule.algorithm == "noise") NILUS_RETURN_NOT_OK(NumberParameter(rule, true).status());
    m.rules_.push_back(std::move(rule));
  }
  for (const auto& [column, type] : type_hints) {
    if (IsTextual(type)) m.text_hinted_.push_back(NormalizeColumnName(column));
  }
  return m;
}

const MaskRule* Masker::Find(std::string_view column) const {
  for (const auto& r : rules_) {
    if (r.column == column) return &r;
  }
  return nullptr;
}

int64_t Masker::SequenceNumber(const std::string& column, std::string_view value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  DigestTo(DigestKind::kSha256, value, digest);
  auto& numbers = sequences_[column];
  auto [it, added] = numbers.emplace(std::string(reinterpret_cast<const char*>(digest), 16), 0);
  if (added) it->second = static_cast<int64_t>(numbers.size());
  return it->second;
}

nlohmann::json Masker::SequencesState() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [column, numbers] : sequences_) {
    nlohmann::json& j = out[column];
    j = nlohmann::json::object();
    for (const auto& [hash, number] : numbers) {
      j[Hex(reinterpret_cast<const unsigned char*>(hash.data()), hash.size())] = number;
    }
  }
  return out;
}

Status Masker::RestoreSequences(const nlohmann::json& state) {
  if (!state.is_object()) return Status::OK();
  for (const auto& [column, numbers] : state.items()) {
    if (!numbers.is_object()) continue;
    auto& restored = sequences_[column];
    for (const auto& [hex, number] : numbers.items()) {
      std::string bytes;
      for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
      }
      if (bytes.size() != 16 || !number.is_number_integer()) {
        return Status::FailedPrecondition(
            "the sequential mask numbers stored with the state of column '{}' are damaged; reset the state", column);
      }
      restored[bytes] = number.get<int64_t>();
    }
  }
  return Status::OK();
}

Result<std::string> Masker::MaskText(const MaskRule& r, std::string_view v) {
  const std::string& a = r.algorithm;
  if (a == "hash" || a == "sha256") return Digest(DigestKind::kSha256, v);
  if (a == "md5") return Digest(DigestKind::kMd5, v);
  if (a == "hmac") {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), r.parameter.data(), static_cast<int>(r.parameter.size()),
         reinterpret_cast<const unsigned char*>(v.data()), v.size(), out, &n);
    return Hex(out, n);
  }
  if (a == "redact") return std::string("REDACTED");
  if (a == "fixed") return r.parameter;
  if (a == "email") {
    size_t at = v.rfind('@');
    if (at == std::string_view::npos) return KeepEnds(v, 1, 1);
    return KeepEnds(v.substr(0, at), 1, 1) + std::string(v.substr(at));
  }
  if (a == "phone") {
    size_t digits = static_cast<size_t>(std::count_if(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }));
    return MaskDigits(v, digits > 7 ? digits - 7 : 0, 0);
  }
  if (a == "credit_card" || a == "ssn") return MaskDigits(v, 0, 4);
  if (a == "partial") {
    size_t n = static_cast<size_t>(std::stoll(r.parameter));
    return KeepEnds(v, n, n);
  }
  if (a == "first_letter") return KeepEnds(v, 1, 0);
  if (a == "stars") return std::string(CodePoints(v).size(), '*');
  if (a == "uuid") {
    // Deterministic: the first 16 bytes of SHA-256, marked as a version-5-style name UUID.
    unsigned char out[EVP_MAX_MD_SIZE];
    DigestTo(DigestKind::kSha256, v, out);
    out[6] = static_cast<unsigned char>((out[6] & 0x0F) | 0x50);
    out[8] = static_cast<unsigned char>((out[8] & 0x3F) | 0x80);
    return FormatUuid(std::string_view(reinterpret_cast<const char*>(out), 16));
  }
  if (a == "random") {
    static constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyz";
    std::string out;
    for (size_t i = 0; i < CodePoints(v).size(); ++i) out += kLetters[rng_() % 26];
    return out;
  }
  if (a == "year_only" || a == "month_year") {
    if (v.size() < 7 || v[4] != '-') return Status::InvalidInput("mask '{}': '{}' is not a date", r.column, Excerpt(v));
    return std::string(v.substr(0, a == "year_only" ? 4 : 7));
  }
  if (a == "sequential") return std::to_string(SequenceNumber(r.column, v));
  if (a == "range") {
    double d;
    if (!ParseDouble(v, &d)) return Status::InvalidInput("mask '{}': '{}' is not a number", r.column, Excerpt(v));
    int64_t step = std::stoll(r.parameter);
    int64_t lo = static_cast<int64_t>(std::floor(d / static_cast<double>(step))) * step;
    return fmt::format("{}-{}", lo, lo + step);
  }
  return Status::InvalidInput("mask '{}': {} does not apply to text values", r.column, a);
}

Status Masker::CheckApplies(const MaskRule& rule, const LogicalType& type) const {
  const Algorithm* a = FindAlgorithm(rule.algorithm);
  const std::string& alg = rule.algorithm;
  if (a->yields == Yields::kText && !IsTextual(type) &&
      std::find(text_hinted_.begin(), text_hinted_.end(), rule.column) == text_hinted_.end()) {
    return Status::InvalidInput(
        "mask '{}': {} yields text but the column is {}; add a type-hints entry '{}: text' to change its type",
        rule.column, alg, type.ToString(), rule.column);
  }
  if (alg == "sequential" && type.id != TypeId::kText && type.id != TypeId::kBigint) {
    return Status::InvalidInput("mask '{}': sequential needs a text or bigint column, not {}", rule.column,
                                type.ToString());
  }
  if (a->yields != Yields::kText && type.layout() == PhysicalLayout::kVarLen && type.id != TypeId::kText) {
    return Status::InvalidInput("mask '{}': {} does not apply to a {} column", rule.column, alg, type.ToString());
  }
  if (alg == "date_shift" && type.id != TypeId::kDate && type.id != TypeId::kTimestamp &&
      type.id != TypeId::kTimestampTz) {
    return Status::InvalidInput("mask '{}': date_shift needs a date or timestamp column, not {}", rule.column,
                                type.ToString());
  }
  const bool integral = type.layout() == PhysicalLayout::kInt64;
  if ((alg == "round" || alg == "noise") && integral && type.id != TypeId::kBigint) {
    return Status::InvalidInput("mask '{}': {} needs a number column, not {}", rule.column, alg, type.ToString());
  }
  return Status::OK();
}

void Masker::MaskFixedWidth(const MaskRule& rule, const Column& in, int64_t i, Column& out) {
  const std::string& alg = rule.algorithm;
  const LogicalType& type = in.type();
  if (alg == "sequential") {
    out.AppendInt64(SequenceNumber(rule.column, ValueToString(in, i)));
    return;
  }
  if (alg == "date_shift") {
    int64_t v = in.Int64(i);
    if (v == kPlusInfinity || v == kMinusInfinity) {  // infinity shifted is infinity
      out.AppendInt64(v);
      return;
    }
    int64_t n = std::stoll(rule.parameter);
    int64_t days = static_cast<int64_t>(Hash64(ValueToString(in, i)) % static_cast<uint64_t>(2 * n + 1)) - n;
    out.AppendInt64(type.id == TypeId::kDate ? v + days : v + days * 86400LL * 1000000);
    return;
  }
  // round, noise, random
  if (type.id == TypeId::kBool) {
    out.AppendBool(alg == "random" ? (rng_() & 1) != 0 : in.Bool(i));
    return;
  }
  const bool integral = type.layout() == PhysicalLayout::kInt64;
  double v = integral ? static_cast<double>(in.Int64(i)) : in.Double(i);
  double r = v;
  if (alg == "round") {
    double step = static_cast<double>(std::stoll(rule.parameter));
    r = std::round(v / step) * step;
  } else if (alg == "noise") {
    double p = std::stod(rule.parameter);
    r = v * (1 + std::uniform_real_distribution<double>(-p, p)(rng_));
  } else {
    r = integral ? static_cast<double>(rng_() % 1000000) : std::uniform_real_distribution<double>(0, 1e6)(rng_);
  }
  if (!integral) {
    out.AppendDouble(r);
  } else {
    out.AppendInt64(alg == "random" && type.id != TypeId::kBigint ? in.Int64(i) : std::llround(r));
  }
}

Result<std::shared_ptr<const Column>> Masker::MaskColumn(const MaskRule& rule, const Column& in) {
  const LogicalType type = in.type();
  NILUS_RETURN_NOT_OK(CheckApplies(rule, type));
  const bool to_text = FindAlgorithm(rule.algorithm)->yields == Yields::kText;
  auto out = std::make_shared<Column>(to_text ? LogicalType::Text() : type);
  out->Reserve(in.length());
  for (int64_t i = 0; i < in.length(); ++i) {
    if (in.IsNull(i)) {
      out->AppendNull();
    } else if (to_text || type.layout() == PhysicalLayout::kVarLen) {
      std::string formatted = type.layout() == PhysicalLayout::kVarLen ? "" : ValueToString(in, i);
      std::string_view text = type.layout() == PhysicalLayout::kVarLen ? in.View(i) : formatted;
      NILUS_ASSIGN_OR_RAISE(std::string masked, MaskText(rule, text));
      out->AppendBytes(masked);
    } else {
      MaskFixedWidth(rule, in, i, *out);
    }
  }
  return std::shared_ptr<const Column>(std::move(out));
}

Result<std::shared_ptr<const RecordBatch>> Masker::Apply(const RecordBatch& batch) {
  std::vector<Field> fields = batch.schema().fields();
  std::vector<RecordBatch::ColumnPtr> columns;
  for (size_t c = 0; c < batch.num_columns(); ++c) columns.push_back(batch.column_ptr(c));
  for (const auto& rule : rules_) {
    int index = batch.schema().FieldIndex(rule.column);
    if (index < 0) {
      return Status::InvalidInput("mask names column '{}', which the source does not have; its columns are: {}",
                                  rule.column, batch.schema().ToString());
    }
    auto i = static_cast<size_t>(index);
    NILUS_ASSIGN_OR_RAISE(columns[i], MaskColumn(rule, batch.column(i)));
    if (!(columns[i]->type() == fields[i].type)) {
      fields[i].type = columns[i]->type();
      fields[i].native_type.clear();
    }
  }
  return std::make_shared<const RecordBatch>(Schema(std::move(fields)), std::move(columns), batch.num_rows());
}

Status CheckMaskOptions(const SourceOptions& options) {
  NILUS_ASSIGN_OR_RAISE(Masker masker, Masker::Make(options.mask, options.type_hints));
  if (!options.incremental_key.empty() && masker.Find(NormalizeColumnName(options.incremental_key))) {
    return Status::InvalidInput(
        "mask names the incremental-key '{}'; the cursor must see its real values, so it cannot be masked",
        options.incremental_key);
  }
  return Status::OK();
}

}  // namespace nilus
