// libFuzzer target: a CSV file's bytes as `anwang import` reads them (node/table_file.h): decoded
// as UTF-8 or GB18030, parsed by libcsv, tabulated under its header. Whatever the bytes, it either
// refuses them with a sentence or returns rows as wide as the header, of UTF-8 text, with lines
// that increase.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "crdt/limits.h"
#include "crdt/text.h"
#include "node/table_file.h"

namespace {

void require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto table = anwang::node::read_csv(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!table) {
    require(!table.status().message().empty(), "a refusal says why");
    return 0;
  }
  require(!table->header.empty() && table->header.size() <= anwang::limits::import_columns_max,
          "a header of 1 to 1,024 columns");
  require(!table->rows.empty() && table->rows.size() <= anwang::limits::import_rows_max + 16,
          "rows within the bound");
  std::size_t last = table->header_line;
  for (const auto& row : table->rows) {
    require(row.cells.size() == table->header.size(), "every row as wide as the header");
    require(row.line > last, "lines increase");
    last = row.line;
    for (const auto& cell : row.cells) require(anwang::is_valid_utf8(cell), "cells are UTF-8");
  }
  return 0;
}
