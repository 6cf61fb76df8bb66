// table_file.cpp — see table_file.h.
#include "node/table_file.h"

#include <csv.h>
#include <expat.h>
#include <iconv.h>
#include <zip.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "crdt/limits.h"
#include "crdt/text.h"

namespace anwang::node {

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Spaces Excel users leave around a cell: ASCII blanks, the full-width space U+3000, the
// no-break space U+00A0 and a stray byte-order mark.
std::string trimmed(std::string_view text) {
  auto strip_front = [&]() {
    for (std::string_view blank :
         {std::string_view(" "), std::string_view("\t"), std::string_view("\r"),
          std::string_view("\n"), std::string_view("\xE3\x80\x80"), std::string_view("\xC2\xA0"),
          kUtf8Bom})
      if (text.substr(0, blank.size()) == blank) {
        text.remove_prefix(blank.size());
        return true;
      }
    return false;
  };
  auto strip_back = [&]() {
    for (std::string_view blank :
         {std::string_view(" "), std::string_view("\t"), std::string_view("\r"),
          std::string_view("\n"), std::string_view("\xE3\x80\x80"), std::string_view("\xC2\xA0")})
      if (text.size() >= blank.size() && text.substr(text.size() - blank.size()) == blank) {
        text.remove_suffix(blank.size());
        return true;
      }
    return false;
  };
  while (strip_front()) {
  }
  while (strip_back()) {
  }
  return std::string(text);
}

// Excel's name of the column at `index` (0: A, 26: AA).
std::string column_letters(std::size_t index) {
  std::string out;
  for (std::size_t n = index + 1; n > 0; n = (n - 1) / 26)
    out.insert(out.begin(), static_cast<char>('A' + (n - 1) % 26));
  return out;
}

struct RawRow {
  std::size_t line = 0;
  std::vector<std::string> cells;
};

bool filled(const RawRow& row) {
  for (const std::string& cell : row.cells)
    if (!cell.empty()) return true;
  return false;
}

std::size_t filled_count(const RawRow& row) {
  std::size_t n = 0;
  for (const std::string& cell : row.cells) n += cell.empty() ? 0 : 1;
  return n;
}

// The header (the first row with two or more filled cells, so that a title row above it, as many
// ledgers have, is passed over; else the first filled row) and the rows below it, each as wide
// as the header. `unit`: how the file's rows are named in errors ("line" or "row").
Result<Table> tabulate(std::vector<RawRow> raw, std::string format, std::string encoding) {
  for (RawRow& row : raw)
    for (std::string& cell : row.cells) cell = trimmed(cell);
  std::optional<std::size_t> header_at;
  for (std::size_t i = 0; i < raw.size() && !header_at; ++i)
    if (filled_count(raw[i]) >= 2) header_at = i;
  for (std::size_t i = 0; i < raw.size() && !header_at; ++i)
    if (filled(raw[i])) header_at = i;
  if (!header_at)
    return Status::invalid("the file holds no rows at all (it is empty, or every cell is blank)");
  Table table;
  table.format = std::move(format);
  table.encoding = std::move(encoding);
  table.header_line = raw[*header_at].line;
  table.header = std::move(raw[*header_at].cells);
  while (!table.header.empty() && table.header.back().empty()) table.header.pop_back();
  const std::size_t width = table.header.size();
  for (std::size_t i = *header_at + 1; i < raw.size(); ++i) {
    RawRow& row = raw[i];
    if (!filled(row)) continue;
    for (std::size_t c = width; c < row.cells.size(); ++c)
      if (!row.cells[c].empty())
        return Status::invalid(
            "line " + std::to_string(row.line) + " has a value in column " + column_letters(c) +
            " ('" + row.cells[c].substr(0, 40) + "'), past the header's last column " +
            column_letters(width - 1) + " (" + table.header.back() +
            "): a value holding a comma must be in double quotes, or the header lacks a "
            "column; nothing was imported");
    row.cells.resize(width);
    table.rows.push_back({row.line, std::move(row.cells)});
  }
  if (table.rows.empty())
    return Status::invalid("the file has a header (line " + std::to_string(table.header_line) +
                           ") but no rows below it: nothing to import");
  return table;
}

Result<std::string> read_capped(const std::filesystem::path& file) {
  std::error_code error;
  auto size = std::filesystem::file_size(file, error);
  if (error) return Status::not_found("cannot read " + file.string() + ": " + error.message());
  if (size > limits::import_file_bytes_max)
    return Status::invalid(
        file.string() + " is " + with_commas(size) + " bytes, more than an import reads (" +
        with_commas(limits::import_file_bytes_max) + "): split it into several files");
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::not_found("cannot read " + file.string() + ": " + std::strerror(errno));
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

// ---- CSV ----

// One physical line at a time into libcsv, so each record's line is known: a record ends on the
// line it was completed on, and began as many lines earlier as its cells hold line breaks.
struct CsvCollector {
  std::vector<RawRow> rows;
  std::vector<std::string> cells;
  std::size_t line = 0;           // the physical line being fed
  std::size_t breaks_before = 0;  // line breaks inside quoted cells of the rows already ended
  std::size_t last_end_line = 0;  // the physical line the last row ended on
  Status failure = Status::ok();

  static void on_cell(void* data, std::size_t length, void* self_pointer) {
    auto* self = static_cast<CsvCollector*>(self_pointer);
    if (!self->failure) return;
    if (self->cells.size() >= limits::import_columns_max) {
      self->failure =
          Status::invalid("line " + std::to_string(self->line) + " has more than " +
                          std::to_string(limits::import_columns_max) + " cells: this is no ledger");
      return;
    }
    self->cells.emplace_back(static_cast<const char*>(data), length);
  }
  static void on_row_end(int, void* self_pointer) {
    auto* self = static_cast<CsvCollector*>(self_pointer);
    if (!self->failure) return;
    std::size_t breaks = 0;
    for (const std::string& cell : self->cells)
      breaks += static_cast<std::size_t>(std::count(cell.begin(), cell.end(), '\n'));
    std::size_t first_line = self->line - breaks;
    self->rows.push_back({first_line - self->breaks_before, std::move(self->cells)});
    self->breaks_before += breaks;
    self->last_end_line = self->line;
    self->cells.clear();
    if (self->rows.size() > limits::import_rows_max + 16)  // the header and a few blank rows spare
      self->failure =
          Status::invalid("the file has more than " + with_commas(limits::import_rows_max) +
                          " rows, more than one import takes: split it into several files");
  }
};

// Line breaks as "\n" alone: Windows writes "\r\n", old Macs "\r", and libcsv ends a row at
// either, so a lone "\r" would end a row in the middle of what reads as one line. Inside a
// quoted cell the break stays a break.
std::string one_line_break(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r') {
      out += text[i];
      continue;
    }
    out += '\n';
    if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
  }
  return out;
}

struct CsvParser {
  csv_parser parser{};
  CsvParser() { csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI); }
  ~CsvParser() { csv_free(&parser); }
  CsvParser(const CsvParser&) = delete;
  CsvParser& operator=(const CsvParser&) = delete;
};

// Where a CSV breaks the quoting rules, in words.
Status csv_error(std::size_t line, const std::string& what) {
  return Status::invalid(
      "line " + std::to_string(line) + " of the CSV " + what +
      ": a cell that holds a double quote must be quoted as a whole, with each quote inside "
      "doubled (\"\"); nothing was imported");
}

}  // namespace

std::string excel_serial_date(double serial, bool date1904) {
  if (!std::isfinite(serial) || serial < 1 || serial >= 2958466) return "";
  auto day = static_cast<std::int64_t>(std::floor(serial));
  // Days since 1970-01-01. In the 1900 system Excel counts a 29 February 1900 that never was
  // (serial 60), so serials from 61 on are days since 1899-12-30, and those before since
  // 1899-12-31.
  std::int64_t days;
  if (date1904)
    days = day - 24107;  // 1904-01-01 is day 24107 before 1970
  else if (day >= 61)
    days = day - 25569;
  else if (day == 60)
    return "1900-02-29";
  else
    days = day - 25568;
  // Civil date from days (Howard Hinnant's algorithm).
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char out[48];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d", static_cast<int>(y), static_cast<int>(m),
                static_cast<int>(d));
  return out;
}

Result<DecodedText> decode_csv_bytes(std::string_view bytes) {
  if (bytes.size() >= 2 &&
      ((bytes[0] == '\xFF' && bytes[1] == '\xFE') || (bytes[0] == '\xFE' && bytes[1] == '\xFF')))
    return Status::invalid(
        "the file is UTF-16 (Excel's \"Unicode text\"): save it from Excel as \"CSV UTF-8\" or "
        "\"CSV (逗号分隔)\" and import that");
  if (bytes.substr(0, kUtf8Bom.size()) == kUtf8Bom) {
    bytes.remove_prefix(kUtf8Bom.size());
    if (!is_valid_utf8(bytes))
      return Status::invalid(
          "the file begins as UTF-8 (with a byte-order mark) but is not UTF-8 further on: save it "
          "again from Excel as \"CSV UTF-8\"");
    return DecodedText{std::string(bytes), "UTF-8 with BOM"};
  }
  if (is_valid_utf8(bytes)) return DecodedText{std::string(bytes), "UTF-8"};
  iconv_t converter = iconv_open("UTF-8", "GB18030");
  if (converter == reinterpret_cast<iconv_t>(-1))
    return Status::io_error(std::string("this system cannot convert GBK text (iconv: ") +
                            std::strerror(errno) + ")");
  std::string out(bytes.size() * 2 + 16, '\0');  // a GBK character of 2 bytes is 3 in UTF-8
  char* in_at = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  char* out_at = out.data();
  std::size_t out_left = out.size();
  std::size_t result = iconv(converter, &in_at, &in_left, &out_at, &out_left);
  int error = errno;
  iconv_close(converter);
  if (result == static_cast<std::size_t>(-1) || in_left != 0) {
    const std::size_t offset = bytes.size() - in_left;
    const std::size_t line =
        1 + static_cast<std::size_t>(std::count(
                bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
    char shown[8];
    std::snprintf(shown, sizeof shown, "0x%02X",
                  static_cast<unsigned>(
                      static_cast<unsigned char>(bytes[offset < bytes.size() ? offset : 0])));
    (void)error;
    return Status::invalid(
        "the file is neither UTF-8 nor GBK/GB18030 text (line " + std::to_string(line) + ", byte " +
        with_commas(offset) + " is " + shown +
        "): save it from Excel as \"CSV UTF-8\" or \"CSV (逗号分隔)\", or as .xlsx");
  }
  out.resize(out.size() - out_left);
  return DecodedText{std::move(out), "GBK/GB18030"};
}

Result<Table> read_csv(std::string_view bytes) {
  if (bytes.empty()) return Status::invalid("the file is empty: nothing to import");
  if (bytes.substr(0, 4) == std::string_view("\xD0\xCF\x11\xE0", 4))
    return Status::invalid(
        "this is an old Excel .xls file or a password-protected workbook, which anwang does not "
        "read: open it in Excel, remove any password, and save it as .xlsx or as CSV");
  auto decoded = decode_csv_bytes(bytes);
  if (!decoded) return decoded.status();
  const std::string text = one_line_break(decoded->text);
  if (auto nul = text.find('\0'); nul != std::string::npos)
    return Status::invalid(
        "line " +
        std::to_string(
            1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n')) +
        " holds a NUL byte: this is not a text CSV (a spreadsheet saved under a .csv name?); "
        "save it from Excel as CSV");
  CsvParser csv;
  CsvCollector collector;
  std::size_t at = 0;
  while (at < text.size() && collector.failure) {
    std::size_t end = text.find('\n', at);
    end = end == std::string::npos ? text.size() : end + 1;
    ++collector.line;
    if (csv_parse(&csv.parser, text.data() + at, end - at, CsvCollector::on_cell,
                  CsvCollector::on_row_end, &collector) != end - at)
      return csv_error(collector.line, "breaks the quoting rules (" +
                                           std::string(csv_strerror(csv_error(&csv.parser))) + ")");
    at = end;
  }
  if (!collector.failure) return collector.failure;
  if (csv_fini(&csv.parser, CsvCollector::on_cell, CsvCollector::on_row_end, &collector) != 0)
    return Status::invalid(
        "the CSV ends inside a quoted cell: a double quote in the row from line " +
        std::to_string(collector.last_end_line + 1) +
        " on is never closed (a cell that holds a double quote must be quoted as a whole, with "
        "each quote inside doubled); nothing was imported");
  if (!collector.failure) return collector.failure;
  for (const RawRow& row : collector.rows)
    for (std::size_t c = 0; c < row.cells.size(); ++c)
      if (trimmed(row.cells[c]).rfind('=', 0) == 0 && trimmed(row.cells[c]).size() > 1)
        return Status::invalid(
            "line " + std::to_string(row.line) + ", column " + column_letters(c) +
            " holds a formula ('" + trimmed(row.cells[c]).substr(0, 40) +
            "'): the file is to hold values only; remove it or put the value in its place");
  return tabulate(std::move(collector.rows), "CSV", decoded->encoding);
}

// ---- XLSX ----

namespace {

struct ZipArchive {
  zip_t* archive = nullptr;
  ~ZipArchive() {
    if (archive != nullptr) zip_discard(archive);
  }
};

struct ZipEntry {
  zip_file_t* file = nullptr;
  ~ZipEntry() {
    if (file != nullptr) zip_fclose(file);
  }
};

struct XmlParser {
  XML_Parser parser = XML_ParserCreate("UTF-8");
  ~XmlParser() {
    if (parser != nullptr) XML_ParserFree(parser);
  }
};

// The local part of an XML name ("x:row" → "row"), as writers differ in prefixes.
std::string_view local_name(const XML_Char* name) {
  std::string_view text(name);
  auto colon = text.rfind(':');
  return colon == std::string_view::npos ? text : text.substr(colon + 1);
}

std::string attribute(const XML_Char** attributes, std::string_view wanted) {
  for (std::size_t i = 0; attributes[i] != nullptr; i += 2)
    if (local_name(attributes[i]) == wanted) return attributes[i + 1];
  return "";
}

// One part of an XLSX as its expat handlers see it (their user data): what a handler found wrong
// stops the parse.
struct XmlPart {
  XML_Parser parser = nullptr;
  Status status = Status::ok();
  void fail(Status why) {
    if (status) status = std::move(why);
    XML_StopParser(parser, XML_FALSE);
  }
};

// The part a handler was called for.
template <typename Part>
Part* part_of(void* user) {
  return static_cast<Part*>(static_cast<XmlPart*>(user));
}

extern "C" void refuse_doctype(void* user, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  part_of<XmlPart>(user)->fail(
      Status::invalid("the .xlsx holds a DTD, which Excel never writes: refused"));
}

class Xlsx {
 public:
  explicit Xlsx(std::string file) : file_(std::move(file)) {}

  Status open() {
    int error = 0;
    zip_.archive = zip_open(file_.c_str(), ZIP_RDONLY, &error);
    if (zip_.archive == nullptr) {
      zip_error_t zip_error;
      zip_error_init_with_code(&zip_error, error);
      std::string why = zip_error_strerror(&zip_error);
      zip_error_fini(&zip_error);
      return Status::invalid(file_ + " is not a readable .xlsx file (" + why +
                             "): save it again from Excel");
    }
    return Status::ok();
  }

  bool has(const std::string& name) const {
    return zip_name_locate(zip_.archive, name.c_str(), 0) >= 0;
  }

  // Feeds the entry `name` to `parser` chunk by chunk, counting the bytes against the budget
  // whatever the entry's header claims.
  Status parse(const std::string& name, XML_Parser parser, XmlPart& part) {
    zip_int64_t index = zip_name_locate(zip_.archive, name.c_str(), 0);
    if (index < 0)
      return Status::invalid("the .xlsx lacks its part " + name + ": save it again from Excel");
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(zip_.archive, static_cast<zip_uint64_t>(index), 0, &stat) != 0)
      return Status::invalid("the .xlsx part " + name +
                             " cannot be read: save it again from Excel");
    if ((stat.valid & ZIP_STAT_SIZE) != 0 && stat.size > budget_left())
      return Status::invalid("the .xlsx part " + name + " claims " + with_commas(stat.size) +
                             " bytes once uncompressed, more than an import reads (" +
                             with_commas(limits::import_file_bytes_max) +
                             " in all): refused unread");
    ZipEntry entry;
    entry.file = zip_fopen_index(zip_.archive, static_cast<zip_uint64_t>(index), 0);
    if (entry.file == nullptr)
      return Status::invalid("the .xlsx part " + name + " cannot be opened (" +
                             zip_strerror(zip_.archive) + ")");
    part.parser = parser;
    XML_SetUserData(parser, &part);
    XML_SetStartDoctypeDeclHandler(parser, refuse_doctype);
    std::vector<char> chunk(64 * 1024);
    while (true) {
      zip_int64_t got = zip_fread(entry.file, chunk.data(), chunk.size());
      if (got < 0)
        return Status::invalid("the .xlsx part " + name + " is damaged (" +
                               zip_file_strerror(entry.file) + ")");
      read_ += static_cast<std::uint64_t>(got);
      if (read_ > limits::import_file_bytes_max)
        return Status::invalid(
            "the .xlsx holds more than " + with_commas(limits::import_file_bytes_max) +
            " bytes once uncompressed (its part " + name + " grew past that while read): refused");
      const bool last = got == 0;
      if (XML_Parse(parser, chunk.data(), static_cast<int>(got), last ? XML_TRUE : XML_FALSE) ==
          XML_STATUS_ERROR) {
        if (!part.status) return part.status;
        return Status::invalid("the .xlsx part " + name + " is not well-formed XML (line " +
                               std::to_string(XML_GetCurrentLineNumber(parser)) + ": " +
                               XML_ErrorString(XML_GetErrorCode(parser)) +
                               "): save it again from Excel");
      }
      if (!part.status) return part.status;
      if (last) return Status::ok();
    }
  }

 private:
  std::uint64_t budget_left() const { return limits::import_file_bytes_max - read_; }
  std::string file_;
  ZipArchive zip_;
  std::uint64_t read_ = 0;
};

// ---- the parts of an XLSX, each with its expat handlers ----

// xl/workbook.xml: the first sheet's relationship id, and the date system.
struct WorkbookPart : XmlPart {
  std::string first_sheet_rid;
  bool date1904 = false;
  static void start(void* user, const XML_Char* name, const XML_Char** attributes) {
    auto* self = part_of<WorkbookPart>(user);
    std::string_view element = local_name(name);
    if (element == "sheet" && self->first_sheet_rid.empty())
      self->first_sheet_rid = attribute(attributes, "id");
    if (element == "workbookPr") {
      std::string value = attribute(attributes, "date1904");
      self->date1904 = value == "1" || value == "true";
    }
  }
};

// xl/_rels/workbook.xml.rels: relationship ids to part names.
struct RelationsPart : XmlPart {
  std::map<std::string, std::string> targets;
  static void start(void* user, const XML_Char* name, const XML_Char** attributes) {
    auto* self = part_of<RelationsPart>(user);
    if (local_name(name) == "Relationship")
      self->targets[attribute(attributes, "Id")] = attribute(attributes, "Target");
  }
};

// Text of <t> elements, leaving out phonetic runs (<rPh>, furigana and pinyin guides).
struct TextCollector {
  int in_t = 0;
  int in_phonetic = 0;
  std::string text;
  void start(std::string_view element) {
    if (element == "t") ++in_t;
    if (element == "rPh") ++in_phonetic;
  }
  void end(std::string_view element) {
    if (element == "t") --in_t;
    if (element == "rPh") --in_phonetic;
  }
  void data(const XML_Char* s, int length) {
    if (in_t > 0 && in_phonetic == 0) text.append(s, static_cast<std::size_t>(length));
  }
};

// xl/sharedStrings.xml.
struct SharedStringsPart : XmlPart {
  std::vector<std::string> strings;
  TextCollector text;
  std::uint64_t bytes = 0;
  static void start(void* user, const XML_Char* name, const XML_Char**) {
    auto* self = part_of<SharedStringsPart>(user);
    std::string_view element = local_name(name);
    if (element == "si") self->text.text.clear();
    self->text.start(element);
  }
  static void end(void* user, const XML_Char* name) {
    auto* self = part_of<SharedStringsPart>(user);
    std::string_view element = local_name(name);
    self->text.end(element);
    if (element == "si") self->strings.push_back(std::move(self->text.text));
  }
  static void data(void* user, const XML_Char* s, int length) {
    part_of<SharedStringsPart>(user)->text.data(s, length);
  }
};

// Whether a number format shows a date: Excel's built-in date formats (14–17, 22, and 27–36 and
// 50–58 in Chinese, Japanese and Korean locales), or a custom format with a year or day in it
// outside quoted text and [brackets].
bool is_date_format(int id, const std::string& code) {
  if ((id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 36) || (id >= 50 && id <= 58))
    return true;
  if (id < 164) return false;
  bool quoted = false, bracket = false;
  for (std::size_t i = 0; i < code.size(); ++i) {
    char c = code[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '"')
      quoted = !quoted;
    else if (!quoted && c == '[')
      bracket = true;
    else if (!quoted && c == ']')
      bracket = false;
    else if (!quoted && !bracket && (c == 'y' || c == 'Y' || c == 'd' || c == 'D'))
      return true;
  }
  return false;
}

// xl/styles.xml: which cell styles (the `s` of a cell, an index into cellXfs) show dates.
struct StylesPart : XmlPart {
  std::map<int, std::string> custom_formats;
  std::vector<int> cell_format_ids;
  int in_cell_xfs = 0;
  static void start(void* user, const XML_Char* name, const XML_Char** attributes) {
    auto* self = part_of<StylesPart>(user);
    std::string_view element = local_name(name);
    if (element == "numFmt")
      self->custom_formats[std::atoi(attribute(attributes, "numFmtId").c_str())] =
          attribute(attributes, "formatCode");
    if (element == "cellXfs") ++self->in_cell_xfs;
    if (element == "xf" && self->in_cell_xfs > 0)
      self->cell_format_ids.push_back(std::atoi(attribute(attributes, "numFmtId").c_str()));
  }
  static void end(void* user, const XML_Char* name) {
    if (local_name(name) == "cellXfs") --part_of<StylesPart>(user)->in_cell_xfs;
  }
  std::vector<bool> date_styles() const {
    std::vector<bool> out;
    for (int id : cell_format_ids) {
      auto custom = custom_formats.find(id);
      out.push_back(is_date_format(id, custom == custom_formats.end() ? "" : custom->second));
    }
    return out;
  }
};

// A number as a person typed it: integers without an exponent or ".0" (a phone number kept as a
// number is 13800138000, not 1.3800138E10), others as Excel wrote them.
std::string number_text(const std::string& value) {
  double number = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size()) return value;
  if (std::floor(number) == number && std::fabs(number) < 1e15) {
    char out[32];
    std::snprintf(out, sizeof out, "%.0f", number);
    return out;
  }
  return value;
}

// The first worksheet.
struct SheetPart : XmlPart {
  const std::vector<std::string>* shared = nullptr;
  std::vector<bool> date_styles;
  bool date1904 = false;
  std::vector<RawRow> rows;
  // The cell being read.
  bool in_cell = false, in_value = false, has_formula = false;
  std::string type, ref, value;
  int style = -1;
  std::size_t column = 0;
  TextCollector inline_text;

  static std::optional<std::size_t> column_of(const std::string& ref) {
    std::size_t column = 0, letters = 0;
    for (char c : ref) {
      if (c < 'A' || c > 'Z') break;
      column = column * 26 + static_cast<std::size_t>(c - 'A' + 1);
      if (++letters > 3) return std::nullopt;
    }
    if (letters == 0) return std::nullopt;
    return column - 1;
  }

  static void start(void* user, const XML_Char* name, const XML_Char** attributes) {
    auto* self = part_of<SheetPart>(user);
    std::string_view element = local_name(name);
    if (element == "row") {
      std::string r = attribute(attributes, "r");
      std::size_t line = r.empty() ? (self->rows.empty() ? 1 : self->rows.back().line + 1)
                                   : std::strtoull(r.c_str(), nullptr, 10);
      if (self->rows.size() >= limits::import_rows_max + 16)
        return self->fail(
            Status::invalid("the sheet has more than " + with_commas(limits::import_rows_max) +
                            " rows, more than one import takes: split it into several files"));
      self->rows.push_back({line, {}});
      return;
    }
    if (element == "c") {
      self->in_cell = true;
      self->has_formula = false;
      self->value.clear();
      self->inline_text.text.clear();
      self->type = attribute(attributes, "t");
      self->ref = attribute(attributes, "r");
      std::string s = attribute(attributes, "s");
      self->style = s.empty() ? -1 : std::atoi(s.c_str());
      std::size_t next = self->rows.empty() ? 0 : self->rows.back().cells.size();
      auto column = self->ref.empty() ? std::optional<std::size_t>(next) : column_of(self->ref);
      if (!column || *column >= limits::import_columns_max)
        return self->fail(Status::invalid("the sheet has a cell at " + self->ref + ", past " +
                                          std::to_string(limits::import_columns_max) +
                                          " columns: this is no ledger"));
      self->column = *column;
      return;
    }
    if (!self->in_cell) return;
    if (element == "f") self->has_formula = true;
    if (element == "v") self->in_value = true;
    self->inline_text.start(element);
  }

  static void end(void* user, const XML_Char* name) {
    auto* self = part_of<SheetPart>(user);
    std::string_view element = local_name(name);
    if (element == "v") self->in_value = false;
    if (self->in_cell) self->inline_text.end(element);
    if (element == "c" && self->in_cell) {
      self->in_cell = false;
      auto text = self->cell_text();
      if (!text) return self->fail(text.status());
      if (self->rows.empty()) self->rows.push_back({1, {}});
      auto& cells = self->rows.back().cells;
      if (cells.size() <= self->column) cells.resize(self->column + 1);
      cells[self->column] = std::move(*text);
    }
  }

  static void data(void* user, const XML_Char* s, int length) {
    auto* self = part_of<SheetPart>(user);
    if (self->in_value)
      self->value.append(s, static_cast<std::size_t>(length));
    else if (self->in_cell)
      self->inline_text.data(s, length);
  }

  std::string cell_name() const { return ref.empty() ? "a cell" : "cell " + ref; }

  Result<std::string> cell_text() const {
    if (has_formula)
      return Status::invalid(
          cell_name() +
          " holds a formula: copy the sheet and paste it as values (选择性粘贴 → 数值), "
          "save, and import again; nothing was imported");
    if (type == "s") {
      std::size_t index = std::strtoull(value.c_str(), nullptr, 10);
      if (shared == nullptr || value.empty() || index >= shared->size())
        return Status::invalid(
            cell_name() +
            " names a shared string the file does not hold: save it again from Excel");
      return (*shared)[index];
    }
    if (type == "inlineStr") return inline_text.text;
    if (type == "str") return value;
    if (type == "b") return std::string(value == "1" ? "true" : "false");
    if (type == "e")
      return Status::invalid(cell_name() + " holds an Excel error (" + value +
                             "): correct it and import again");
    if (type == "d") return value.substr(0, 10);  // ISO 8601: the date part
    if (value.empty()) return std::string();
    if (style >= 0 && static_cast<std::size_t>(style) < date_styles.size() &&
        date_styles[static_cast<std::size_t>(style)]) {
      double serial = std::strtod(value.c_str(), nullptr);
      std::string date = excel_serial_date(serial, date1904);
      if (date.empty())
        return Status::invalid(cell_name() + " is formatted as a date but holds " + value +
                               ", which is no date");
      return date;
    }
    return number_text(value);
  }
};

template <typename Part>
Status parse_part(Xlsx& xlsx, const std::string& name, Part& part, XML_StartElementHandler start,
                  XML_EndElementHandler end, XML_CharacterDataHandler data) {
  XmlParser xml;
  if (xml.parser == nullptr) return Status::io_error("out of memory for the XML parser");
  XML_SetElementHandler(xml.parser, start, end);
  if (data != nullptr) XML_SetCharacterDataHandler(xml.parser, data);
  return xlsx.parse(name, xml.parser, part);
}

// Where a relationship's target lies in the zip ("worksheets/sheet1.xml" →
// "xl/worksheets/sheet1.xml").
std::string part_path(const std::string& target) {
  if (!target.empty() && target[0] == '/') return target.substr(1);
  return "xl/" + target;
}

}  // namespace

Result<Table> read_xlsx(const std::filesystem::path& file) {
  Xlsx xlsx(file.string());
  if (Status s = xlsx.open(); !s) return s;
  WorkbookPart workbook;
  if (Status s =
          parse_part(xlsx, "xl/workbook.xml", workbook, WorkbookPart::start, nullptr, nullptr);
      !s)
    return s;
  std::string sheet = "xl/worksheets/sheet1.xml";
  if (!workbook.first_sheet_rid.empty() && xlsx.has("xl/_rels/workbook.xml.rels")) {
    RelationsPart relations;
    if (Status s = parse_part(xlsx, "xl/_rels/workbook.xml.rels", relations, RelationsPart::start,
                              nullptr, nullptr);
        !s)
      return s;
    if (auto it = relations.targets.find(workbook.first_sheet_rid); it != relations.targets.end())
      sheet = part_path(it->second);
  }
  SharedStringsPart shared;
  if (xlsx.has("xl/sharedStrings.xml"))
    if (Status s = parse_part(xlsx, "xl/sharedStrings.xml", shared, SharedStringsPart::start,
                              SharedStringsPart::end, SharedStringsPart::data);
        !s)
      return s;
  StylesPart styles;
  if (xlsx.has("xl/styles.xml"))
    if (Status s =
            parse_part(xlsx, "xl/styles.xml", styles, StylesPart::start, StylesPart::end, nullptr);
        !s)
      return s;
  SheetPart part;
  part.shared = &shared.strings;
  part.date_styles = styles.date_styles();
  part.date1904 = workbook.date1904;
  if (Status s = parse_part(xlsx, sheet, part, SheetPart::start, SheetPart::end, SheetPart::data);
      !s)
    return s;
  if (part.rows.empty())
    return Status::invalid("the workbook's first sheet is empty: nothing to import");
  return tabulate(std::move(part.rows), "XLSX", "UTF-8");
}

Result<Table> read_table_file(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error))
    return Status::not_found("cannot read " + file.string() + ": no such file");
  char magic[4] = {};
  {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::not_found("cannot read " + file.string() + ": " + std::strerror(errno));
    in.read(magic, sizeof magic);
  }
  if (std::string_view(magic, 4) == std::string_view("PK\x03\x04", 4)) return read_xlsx(file);
  auto bytes = read_capped(file);
  if (!bytes) return bytes.status();
  return read_csv(*bytes);
}

}  // namespace anwang::node
