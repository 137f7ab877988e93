// Fuzz target (libFuzzer) of the binary log decoder: a TABLE_MAP body, then a row event body of
// that table, then their values, and the bytes as MySQL binary JSON. Any bytes must decode or
// give an error, never a crash or undefined behaviour. Built and run by tests/fuzz/test_fuzz.sh.
//
// Input: [row event type][table map length, 2 bytes little-endian][table map body][rows body]

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "nilus/connectors/mysql/binlog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nilus::binlog;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string json;
  (void)JsonText(bytes, &json);
  if (size < 3) return 0;
  const uint8_t type = data[0];
  const size_t map_size = data[1] | static_cast<size_t>(data[2]) << 8;
  if (size - 3 < map_size) return 0;
  TableMap map;
  if (!ParseTableMap(bytes.substr(3, map_size), &map).ok()) return 0;
  Rows rows;
  if (!IsRows(type) || !ParseRows(type, bytes.substr(3 + map_size), &rows).ok()) return 0;
  std::string_view rest = rows.images;
  Image image;
  std::string scratch;
  for (size_t n = 0; !rest.empty(); ++n) {  // an update's images alternate: before, after
    const auto& present = IsUpdate(type) && n % 2 == 1 ? rows.present_after : rows.present;
    if (!ReadImage(map, present, rest, &image).ok()) break;
    for (size_t i = 0; i < image.state.size(); ++i) {
      std::string_view text;
      if (image.state[i] == Image::kValue) (void)ValueText(map.columns[i], image.data[i], scratch, &text);
    }
  }
  return 0;
}
