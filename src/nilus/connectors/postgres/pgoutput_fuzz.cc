// Fuzz target (libFuzzer) of the pgoutput decoder and the text decoder of replicated values:
// any bytes must decode or give an error, never a crash or undefined behaviour. Built and run by
// tests/fuzz/test_fuzz.sh.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nilus/connectors/postgres/pg_types.h"
#include "nilus/connectors/postgres/pgoutput.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nilus;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pgoutput::Message m;
  (void)pgoutput::Decode(bytes, &m);
  static const std::vector<PgColumnType> types = {
      ClassifyPgType(pgoid::kInt8, "bigint", true, 'b'), ClassifyPgType(pgoid::kFloat8, "double precision", true, 'b'),
      ClassifyPgType(pgoid::kDate, "date", true, 'b'),   ClassifyPgType(pgoid::kTimestampTz, "timestamptz", true, 'b'),
      ClassifyPgType(pgoid::kTime, "time", true, 'b'),   ClassifyPgType(pgoid::kUuid, "uuid", true, 'b'),
      ClassifyPgType(pgoid::kBytea, "bytea", true, 'b'), ClassifyPgType(pgoid::kBool, "boolean", true, 'b'),
  };
  for (const auto& t : types) {
    Column c(t.logical);
    (void)DecodePgText(t, bytes, c);
  }
  return 0;
}
