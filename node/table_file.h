// table_file.h — a sheet read from a CSV or XLSX file as rows of UTF-8 text: what `anwang import`
// reads a county's ledger (台账) and list of grid members from (node/import.h maps the columns).
//
// CSV goes through libcsv (strict: an unbalanced quote is an error). Its bytes are UTF-8 with or
// without a byte-order mark, else GBK, which Excel on a Chinese Windows PC writes: a file whose
// bytes are valid UTF-8 is read as UTF-8, any other is decoded as GB18030 (a superset of GBK) with
// glibc's iconv, and a file that is neither is refused with the place of the first bad byte.
// XLSX is a zip of XML parts (libzip, expat): the workbook's first sheet, with its shared and
// inline strings, numbers (integers written without an exponent), booleans, and date serials in
// cells formatted as dates written as YYYY-MM-DD. A formula is refused (the value Excel would
// show is not trusted from the file): the sheet is to be pasted as values first.
//
// Bounds (crdt/limits.h): the file, or everything read from one XLSX once uncompressed, at most
// import_file_bytes_max (a zip entry claiming more is refused before it is read, and bytes are
// counted as they come whatever the entry claims); at most import_rows_max rows and
// import_columns_max columns. A NUL byte, a row with more filled cells than the header, a DTD in
// an XLSX part and an Excel error value are refused too. Every refusal is one sentence a county
// IT officer can act on; nothing is returned from a file that breaks one.
//
// Pure functions of the file's bytes; no state, any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/status.h"

namespace anwang::node {

struct TableRow {
  // The row's number as Excel shows it (the header's row is usually 1). In a CSV it is the line in
  // the file, less the line breaks inside quoted cells of the rows before it.
  std::size_t line = 0;
  std::vector<std::string> cells;  // as many as the header has; each trimmed of spaces
};

struct Table {
  std::string format;    // "CSV" or "XLSX"
  std::string encoding;  // "UTF-8", "UTF-8 with BOM" or "GBK/GB18030"; an XLSX is UTF-8
  std::vector<std::string> header;
  std::size_t header_line = 0;
  std::vector<TableRow> rows;  // rows with at least one filled cell, in file order
};

// Reads `file` as an XLSX when its bytes begin as a zip does, else as a CSV.
Result<Table> read_table_file(const std::filesystem::path& file);

// A CSV's bytes (as read from a file), decoded and parsed.
Result<Table> read_csv(std::string_view bytes);

// An XLSX file's first sheet.
Result<Table> read_xlsx(const std::filesystem::path& file);

// A CSV file's bytes as UTF-8, and which encoding they were in (Table::encoding).
struct DecodedText {
  std::string text;
  std::string encoding;
};
Result<DecodedText> decode_csv_bytes(std::string_view bytes);

// An Excel date serial (days since 1899-12-30 in the 1900 date system, or since 1904-01-01 in the
// 1904 one) as YYYY-MM-DD; the fraction of a day (the time) is dropped. Empty when out of range
// (before 1900-01-01 or after 9999-12-31).
std::string excel_serial_date(double serial, bool date1904);

}  // namespace anwang::node
