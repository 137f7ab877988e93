// Fuzz target (libFuzzer) of the JSON document path of Normalize: any bytes, cut into lines as a
// JSONL file is, must give typed tables or an error, never a crash or undefined behaviour.
// Built and run by tests/fuzz/test_fuzz.sh.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nilus/pipeline/normalize_stage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nilus;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  BatchBuilder documents(DocumentSchema(false));
  while (!input.empty()) {
    size_t end = input.find('\n');
    documents.column(0).AppendBytes(input.substr(0, end));
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  }
  auto batch = documents.Finish();
  for (int nesting : {0, 2}) {
    SourceOptions options;
    options.max_table_nesting = nesting;
    TableSpec table;
    table.schema = "raw";
    table.name = "t";
    table.strategy = nesting == 0 ? WriteDisposition::kAppend : WriteDisposition::kMerge;
    auto stage = NormalizeStage::Make(options, table, "load", nlohmann::json::object(), false);
    if (!stage.ok()) __builtin_trap();
    // The same batch twice: the second meets the schema the first made.
    for (int pass = 0; pass < 2; ++pass) {
      auto tables = (*stage)->Apply(batch);
      if (!tables.ok()) break;
      for (const auto& t : *tables) {
        if (t.batch->num_columns() != (*stage)->schema().Find(t.table)->columns.size()) __builtin_trap();
      }
    }
  }
  return 0;
}
