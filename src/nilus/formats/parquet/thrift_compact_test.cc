#include "nilus/formats/parquet/thrift_compact.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace nilus::parquet {
namespace {

std::string Hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

// Expected bytes worked out by hand from the compact protocol's specification.
TEST(CompactWriter, FieldsByDeltaOrByIdListsAndNestedStructs) {
  std::string out;
  CompactWriter w(out);
  w.I32(1, 5);                                    // delta 1, type 5; zigzag 10
  w.Binary(20, "ab");                             // delta 19 > 15: type byte, then zigzag id 40
  w.BeginStruct(21);                              // delta 1, type 12
  w.Bool(1, true);                                // delta 1, type 1 (true)
  w.I64(2, -1);                                   // delta 1, type 6; zigzag 1
  w.EndStruct();                                  // stop; back to id 21
  w.BeginList(22, CompactWriter::Type::kI32, 3);  // delta 1, type 9; size 3, element type 5
  w.ListI32(0);
  w.ListI32(-64);  // zigzag 127
  w.ListI32(64);   // zigzag 128: two bytes
  w.I16(23, 300);  // delta 1, type 4; zigzag 600
  w.EndStruct();
  EXPECT_EQ(Hex(out),
            "150a"
            "0828026162"
            "1c"
            "11"
            "1601"
            "00"
            "19"
            "35"
            "00"
            "7f"
            "8001"
            "14"
            "d804"
            "00");
}

TEST(CompactWriter, LongListsGiveTheirSizeAsAVarint) {
  std::string out;
  CompactWriter w(out);
  w.BeginList(1, CompactWriter::Type::kBinary, 20);
  EXPECT_EQ(Hex(out),
            "19"
            "f8"
            "14");
}

}  // namespace
}  // namespace nilus::parquet
