// Fuzz target (libFuzzer) of the Parquet reader: any bytes as a file must give batches or an
// error, never a crash, undefined behaviour or an unbounded allocation. Built and run by
// tests/fuzz/test_fuzz.sh; the seeds are small files of DuckDB and of nilus's writer.

#include <cstddef>
#include <cstdint>
#include <string>

#include "nilus/formats/parquet/parquet_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto read = [&bytes](int64_t offset, int64_t length) -> nilus::Result<std::string> {
    if (offset < 0 || length < 0 || offset > static_cast<int64_t>(bytes.size())) {
      return nilus::Status::IOError("out of range");
    }
    return bytes.substr(static_cast<size_t>(offset), static_cast<size_t>(length));
  };
  auto reader = nilus::parquet::ParquetReader::Open("fuzz.parquet", static_cast<int64_t>(size), read);
  if (!reader.ok()) return 0;
  for (int i = 0; i < 1000; ++i) {
    auto batch = (*reader)->Next(7, 1 << 20);
    if (!batch.ok() || !*batch) break;
  }
  return 0;
}
