// Fuzz target (libFuzzer) of the CSV reader: any bytes, in several dialects, must give records or
// an error, never a crash or undefined behaviour. Built and run by tests/fuzz/test_fuzz.sh.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nilus/formats/csv_reader.h"

namespace {

/// The fuzzer's bytes as a stream, handed out in small reads so records cross buffer refills.
class MemoryStream final : public nilus::InputStream {
 public:
  MemoryStream(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  nilus::Result<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min({n, size_ - pos_, size_t{7}});
    std::memcpy(buf, data_ + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (char delimiter : {',', ';', '\t'}) {
    nilus::CsvDialect dialect;
    dialect.delimiter = delimiter;
    dialect.null_string = "NA";
    nilus::CsvReader reader(std::make_unique<MemoryStream>(data, size), "fuzz.csv", dialect);
    nilus::CsvRecord record;
    while (true) {
      auto more = reader.Next(&record);
      if (!more.ok() || !*more) break;
      if (record.fields.size() != record.quoted.size()) __builtin_trap();
    }
  }
  return 0;
}
