// Fuzz target (libFuzzer) of the binary COPY decoder: any bytes, cut into COPY data messages,
// for columns of several types, must decode or give an error, never a crash or undefined
// behaviour. Built and run by tests/fuzz/test_fuzz.sh.

#include <cstddef>
#include <cstdint>

#include "nilus/connectors/postgres/pg_copy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nilus;
  const std::vector<PgColumnType> types = {
      ClassifyPgType(pgoid::kInt8, "bigint", true, 'b'), ClassifyPgType(pgoid::kNumeric, "numeric", true, 'b'),
      ClassifyPgType(pgoid::kText, "text", true, 'b'),   ClassifyPgType(pgoid::kTimestampTz, "timestamptz", true, 'b'),
      ClassifyPgType(pgoid::kDate, "date", true, 'b'),   ClassifyPgType(pgoid::kJsonb, "jsonb", true, 'b'),
      ClassifyPgType(pgoid::kFloat4, "real", true, 'b'), ClassifyPgType(pgoid::kUuid, "uuid", true, 'b'),
  };
  // The first byte picks how many of the columns the stream has; the next ones cut it into
  // messages (a length byte, then that many bytes).
  if (size < 1) return 0;
  size_t columns = 1 + data[0] % types.size();
  std::vector<PgColumnType> selected(types.begin(), types.begin() + static_cast<long>(columns));
  Schema schema;
  for (const auto& t : selected) schema.AddField({"c", t.logical});
  PgBinaryCopyDecoder decoder(selected);
  BatchBuilder out(schema);
  size_t pos = 1;
  while (pos < size) {
    size_t len = data[pos++];
    if (len > size - pos) len = size - pos;
    if (!decoder.Decode(reinterpret_cast<const char*>(data + pos), static_cast<int64_t>(len), out).ok()) break;
    pos += len;
  }
  return 0;
}
