// Reading a sheet from CSV bytes as Excel writes them (node/table_file.h). The XLSX reader and
// whole files are tested through `anwang import` in tests/import.
#include "node/table_file.h"

#include <catch2/catch.hpp>

using namespace anwang;
using namespace anwang::node;

TEST_CASE(
    "a CSV row's line is the row Excel shows, however many line breaks quoted cells hold before it",
    "[import]") {
  auto table = read_csv("单位名称,地址\r\n红砖厂,\"北沟\r\n二号院\"\r\n\r\n超市,村口\r\n");
  REQUIRE(table);
  CHECK(table->header == std::vector<std::string>{"单位名称", "地址"});
  REQUIRE(table->rows.size() == 2);
  CHECK(table->rows[0].line == 2);
  CHECK(table->rows[0].cells[1] == "北沟\n二号院");  // one kind of line break, whatever the file used
  CHECK(table->rows[1].line == 4);  // the blank row is row 3 in Excel
  CHECK(table->encoding == "UTF-8");
}

TEST_CASE("a lone carriage return ends a line as a line feed does (the fuzzer's find)", "[import]") {
  auto table = read_csv("单位名称,地址\rH\n\"红砖厂\",\"北沟\r二号\"\r\n超市,村口\r");
  REQUIRE(table);
  CHECK(table->header_line == 1);
  REQUIRE(table->rows.size() == 3);
  CHECK(table->rows[0].line == 2);
  CHECK(table->rows[0].cells[0] == "H");
  CHECK(table->rows[1].line == 3);
  CHECK(table->rows[1].cells[1] == "北沟\n二号");
  CHECK(table->rows[2].line == 4);
}

TEST_CASE("GBK bytes are read as GB18030, UTF-8 ones as UTF-8, with or without a byte-order mark",
          "[import]") {
  const std::string gbk =
      "\xB5\xA5\xCE\xBB\xC3\xFB\xB3\xC6,x\r\n\xBA\xEC\xD7\xA9\xB3\xA7,y\r\n";  // 单位名称 / 红砖厂
  auto table = read_csv(gbk);
  REQUIRE(table);
  CHECK(table->encoding == "GBK/GB18030");
  CHECK(table->header[0] == "单位名称");
  CHECK(table->rows[0].cells[0] == "红砖厂");
  auto bom = read_csv("\xEF\xBB\xBF单位名称,x\n红砖厂,y\n");
  REQUIRE(bom);
  CHECK(bom->encoding == "UTF-8 with BOM");
  CHECK(bom->header[0] == "单位名称");
  auto neither = read_csv("单位名称,x\n\xFF\xFE\x81\x20,y\n");
  REQUIRE_FALSE(neither);
  CHECK_THAT(neither.status().message(), Catch::Contains("neither UTF-8 nor GBK"));
}

TEST_CASE("a title row above the header is passed over, and blank trailing columns are dropped",
          "[import]") {
  auto table = read_csv("东井村生产经营单位台账,,,\n单位名称,地址,,\n红砖厂,北沟,,\n,,,\n");
  REQUIRE(table);
  CHECK(table->header_line == 2);
  CHECK(table->header.size() == 2);
  REQUIRE(table->rows.size() == 1);
  CHECK(table->rows[0].cells == std::vector<std::string>{"红砖厂", "北沟"});
}

TEST_CASE("cells are trimmed of ASCII, full-width and no-break spaces", "[import]") {
  auto table = read_csv("单位名称,地址\n\xE3\x80\x80红砖厂 ,\xC2\xA0北沟\t\n");
  REQUIRE(table);
  CHECK(table->rows[0].cells == std::vector<std::string>{"红砖厂", "北沟"});
}

TEST_CASE("Excel date serials become calendar dates in both date systems", "[import]") {
  CHECK(excel_serial_date(1, false) == "1900-01-01");
  CHECK(excel_serial_date(59, false) == "1900-02-28");
  CHECK(excel_serial_date(60, false) == "1900-02-29");  // Excel's day that never was
  CHECK(excel_serial_date(61, false) == "1900-03-01");
  CHECK(excel_serial_date(44927.75, false) == "2023-01-01");
  CHECK(excel_serial_date(0, true).empty());
  CHECK(excel_serial_date(1, true) == "1904-01-02");
  CHECK(excel_serial_date(2958465, false) == "9999-12-31");
  CHECK(excel_serial_date(2958466, false).empty());
  CHECK(excel_serial_date(-3, false).empty());
}
