// import.cpp — see import.h.
#include "node/import.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <variant>

#include "crdt/limits.h"
#include "crdt/scope.h"
#include "crdt/text.h"
#include "node/hazard_steps.h"

namespace anwang::node {

namespace {

enum class FieldType { kText, kBoolean, kPlace, kList, kKey };

// A field of the kind imported, with its Chinese name and the column headers that fill it
// (normalised as header_key does).
struct FieldSpec {
  std::string field;
  std::string zh;
  FieldType type = FieldType::kText;
  std::vector<std::string> headers;
};

// The row's place: a village (村/社区) named by code or by name. Not a field of the record: it
// decides the record's scope.
constexpr const char* kVillage = "village";

const std::vector<FieldSpec>& place_specs() {
  static const std::vector<FieldSpec> specs = {
      {"grid",
       "网格",
       FieldType::kPlace,
       {"网格", "所属网格", "网格编码", "网格代码", "网格编号", "网格名称", "所在网格"}},
      {kVillage,
       "村/社区",
       FieldType::kPlace,
       {"村",       "社区",     "村(社区)", "村/社区",      "村社区",
        "村(居)",   "所属村",   "所属社区", "所属村(社区)", "村居",
        "所属村居", "村委会",   "行政村",   "村(社区)编码", "村编码",
        "村代码",   "社区编码", "村名称",   "社区名称",     "村(社区)名称"}},
  };
  return specs;
}

std::vector<FieldSpec> specs_of(ImportKind kind) {
  std::vector<FieldSpec> specs;
  if (kind == ImportKind::kUnits) {
    specs = {
        {"name",
         "单位名称",
         FieldType::kText,
         {"单位名称", "企业名称", "名称", "生产经营单位名称", "单位(企业)名称", "企业(单位)名称",
          "单位全称", "企业全称"}},
        {"address",
         "地址",
         FieldType::kText,
         {"地址", "经营地址", "详细地址", "单位地址", "企业地址", "生产经营地址", "经营场所",
          "经营场所地址"}},
        {"industry",
         "行业",
         FieldType::kText,
         {"行业", "行业类别", "所属行业", "行业类型", "行业分类"}},
        {"scale",
         "规模",
         FieldType::kText,
         {"规模", "企业规模", "单位规模", "生产规模", "经营规模"}},
        {"licence",
         "统一社会信用代码",
         FieldType::kText,
         {"统一社会信用代码", "社会信用代码", "信用代码", "营业执照号", "营业执照号码",
          "营业执照注册号", "注册号", "许可证号", "许可证编号"}},
        {"contacts",
         "联系人",
         FieldType::kText,
         {"联系人", "负责人", "联系电话", "主要负责人", "安全负责人", "法定代表人", "法人代表",
          "联系方式"}},
        {"key_supervision",
         "重点监管",
         FieldType::kBoolean,
         {"重点监管", "是否重点监管", "重点监管单位", "是否重点监管单位", "重点单位",
          "是否重点单位"}},
        {"three_small", "三小场所", FieldType::kBoolean, {"三小场所", "是否三小场所", "三小"}},
        {"departments",
         "监管部门",
         FieldType::kList,
         {"监管部门", "行业主管部门", "主管部门", "行业监管部门", "负有监管职责的部门",
          "负有安全监管职责的部门"}},
    };
  } else {
    specs = {
        {"name", "姓名", FieldType::kText, {"姓名", "名字", "人员姓名"}},
        {"phone",
         "电话",
         FieldType::kText,
         {"电话", "手机", "联系电话", "手机号码", "手机号", "联系方式", "电话号码"}},
        {"office", "职务", FieldType::kText, {"职务", "岗位", "角色", "职责", "身份"}},
        {"holder", "公钥", FieldType::kKey, {"公钥", "密钥公钥", "持有人公钥"}},
    };
  }
  for (const FieldSpec& place : place_specs()) specs.push_back(place);
  return specs;
}

const char* kind_name(ImportKind kind) {
  return kind == ImportKind::kUnits ? "unit" : "person";
}

// A header as templates vary it: without spaces, stars, colons, "(必填)", with full-width
// brackets as ASCII ones and ASCII letters in lower case.
std::string header_key(const std::string& header) {
  std::string out;
  for (std::size_t i = 0; i < header.size();) {
    auto skip = [&](std::string_view text) {
      if (header.compare(i, text.size(), text) != 0) return false;
      i += text.size();
      return true;
    };
    if (skip(" ") || skip("\t") || skip("\n") || skip("\r") || skip("*") ||
        skip("\xEF\xBC\x8A") /* ＊ */ || skip(":") || skip("\xEF\xBC\x9A") /* ： */ ||
        skip("\xE3\x80\x80"))
      continue;
    if (skip("\xEF\xBC\x88")) {
      out += '(';
      continue;
    }  // （
    if (skip("\xEF\xBC\x89")) {
      out += ')';
      continue;
    }  // ）
    char c = header[i++];
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  for (std::string_view note : {"(必填)", "(选填)", "(可选)"})
    if (auto at = out.find(note); at != std::string::npos) out.erase(at, note.size());
  return out;
}

bool is_date_header(const std::string& header) {
  return header.find("日期") != std::string::npos ||
         (header.size() >= 6 && header.compare(header.size() - 6, 6, "时间") == 0);
}

// ---- values ----

std::optional<bool> parse_boolean(const std::string& value, const std::string& field) {
  static const std::set<std::string> yes = {"是",   "是的", "y", "Y", "yes", "Yes", "YES", "true",
                                            "True", "TRUE", "1", "√", "✓",   "有",  "对"};
  static const std::set<std::string> no = {"否",    "不是",  "n", "N", "no", "No", "NO", "false",
                                           "False", "FALSE", "0", "×", "✗",  "无", "非"};
  if (yes.count(value)) return true;
  if (no.count(value)) return false;
  // A 三小场所 column often names which of the three small places it is.
  if (field == "three_small" &&
      (value == "小商铺" || value == "小作坊" || value == "小娱乐场所" || value == "小娱乐"))
    return true;
  return std::nullopt;
}

bool valid_date(int year, int month, int day) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= days[month - 1] + (month == 2 && leap ? 1 : 0);
}

// A date as ledgers write it (2021-03-05, 2021/3/5, 2021.3.5, 2021年3月5日, 20210305, or an Excel
// date serial such as 44260 where the cell was not formatted as a date) as YYYY-MM-DD; empty when
// it is none of these.
std::string parse_date(const std::string& value) {
  std::vector<int> numbers;
  std::string digits;
  bool any_other = false;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    char c = i < value.size() ? value[i] : '\0';
    if (c >= '0' && c <= '9') {
      digits += c;
      continue;
    }
    if (!digits.empty()) {
      if (digits.size() > 8) return "";
      numbers.push_back(std::stoi(digits));
      digits.clear();
    }
    if (i == value.size()) break;
    std::string_view rest(value.data() + i, value.size() - i);
    if (c == '-' || c == '/' || c == '.') continue;
    if (rest.substr(0, 3) == "年" || rest.substr(0, 3) == "月" || rest.substr(0, 3) == "日") {
      i += 2;
      continue;
    }
    any_other = true;
  }
  if (any_other) return "";
  int year = 0, month = 0, day = 0;
  if (numbers.size() == 3) {
    year = numbers[0], month = numbers[1], day = numbers[2];
  } else if (numbers.size() == 1 && value.size() == 8) {
    year = numbers[0] / 10000, month = numbers[0] / 100 % 100, day = numbers[0] % 100;
  } else if (numbers.size() == 1 && value.find_first_not_of("0123456789") == std::string::npos) {
    return numbers[0] >= 1 ? excel_serial_date(numbers[0], false) : "";
  } else {
    return "";
  }
  if (!valid_date(year, month, day)) return "";
  char out[48];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d", year, month, day);
  return out;
}

// Departments as one comma-separated list, whatever separators the sheet used (、，；/ and spaces).
std::string normalise_list(const std::string& value) {
  std::string unified;
  for (std::size_t i = 0; i < value.size();) {
    bool separator = false;
    for (std::string_view sep :
         {std::string_view("、"), std::string_view("，"), std::string_view("；"),
          std::string_view(";"), std::string_view("/"), std::string_view(" "),
          std::string_view("\xE3\x80\x80")})
      if (value.compare(i, sep.size(), sep) == 0) {
        unified += ',';
        i += sep.size();
        separator = true;
        break;
      }
    if (!separator) unified += value[i++];
  }
  std::string out;
  for (const std::string& item : split_commas(unified)) out += (out.empty() ? "" : ",") + item;
  return out;
}

// A failure of the store or the disk (rather than of one row): it stops an import.
bool store_failure(const Status& status) {
  return status.code() == Status::Code::kIoError || status.code() == Status::Code::kStoreFull ||
         status.code() == Status::Code::kCorruption;
}

// A refusal by Store::author as an import lists it.
std::string rules_refusal(const std::string& message) {
  constexpr std::string_view kPrefix = "refused, nothing written: ";
  if (message.rfind(kPrefix, 0) == 0)
    return "refused by the rules: " + message.substr(kPrefix.size());
  return message;
}

// ---- places ----

// The jurisdictions this node knows (genesis and region ops), by code and by name.
struct Places {
  std::map<std::string, std::string> names;
  std::multimap<std::string, std::string> codes_by_name;

  // A village or grid given by code or by name, or why not. A name is looked for within
  // `within` (a code, or empty for anywhere), at `level` first.
  std::variant<std::string, std::string> resolve(const std::string& value,
                                                 const std::string& within, ScopeLevel level,
                                                 const char* what) const {
    using Out = std::variant<std::string, std::string>;
    auto refused = [](std::string why) { return Out(std::in_place_index<1>, std::move(why)); };
    if (check_scope(value).is_ok()) {
      if (names.count(value) == 0)
        return refused(
            std::string("unknown ") + what + " " + value +
            ": no region of that code on this node (define it with 'anwang region add')");
      return Out(std::in_place_index<0>, value);
    }
    std::vector<std::string> found;
    for (auto [at, end] = codes_by_name.equal_range(value); at != end; ++at)
      if (within.empty() || scope_contains(within, at->second)) found.push_back(at->second);
    if (found.size() > 1) {
      std::vector<std::string> at_level;
      for (const std::string& code : found)
        if (scope_level(code) == level) at_level.push_back(code);
      if (!at_level.empty()) found = at_level;
    }
    if (found.empty())
      return refused(std::string("unknown ") + what + " '" + value + "': no region of that name" +
                     (within.empty() ? "" : " within " + within) +
                     " on this node (use its code, or define it with 'anwang region add')");
    if (found.size() > 1) {
      std::string codes;
      for (const std::string& code : found) codes += (codes.empty() ? "" : ", ") + code;
      return refused(std::string("ambiguous ") + what + " '" + value +
                     "': several regions have that name (" + codes + "); give the code");
    }
    return Out(std::in_place_index<0>, found.front());
  }
};

Result<Places> load_places(const Store& store) {
  auto names = region_names(store);
  if (!names) return names.status();
  Places places;
  places.names = std::move(*names);
  for (const auto& [code, name] : places.names) places.codes_by_name.emplace(name, code);
  return places;
}

// ---- columns ----

struct ColumnPlan {
  std::vector<ImportColumn> columns;
  std::vector<const FieldSpec*> spec;  // per column; null when ignored
};

Result<ColumnPlan> plan_columns(const Table& table, const std::vector<FieldSpec>& specs,
                                const ImportOptions& options) {
  ColumnPlan plan;
  plan.spec.assign(table.header.size(), nullptr);
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    ImportColumn column;
    column.header = table.header[c];
    column.date = is_date_header(column.header);
    const std::string key = header_key(column.header);
    for (const FieldSpec& spec : specs)
      if (std::find(spec.headers.begin(), spec.headers.end(), key) != spec.headers.end()) {
        column.field = spec.field;
        plan.spec[c] = &spec;
        break;
      }
    plan.columns.push_back(column);
  }
  for (const std::string& mapping : options.mappings) {
    auto equals = mapping.rfind('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == mapping.size())
      return Status::invalid("--map '" + mapping +
                             "' must be \"列名=field\": a column's header, '=', and a field");
    const std::string header = mapping.substr(0, equals), field = mapping.substr(equals + 1);
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const FieldSpec& s) { return s.field == field; });
    if (spec == specs.end()) {
      std::string known;
      for (const FieldSpec& s : specs) known += (known.empty() ? "" : ", ") + s.field + " " + s.zh;
      return Status::invalid("--map '" + mapping + "': no field '" + field +
                             "' (the fields are: " + known + ")");
    }
    bool matched = false;
    for (std::size_t c = 0; c < table.header.size(); ++c)
      if (table.header[c] == header || header_key(table.header[c]) == header_key(header)) {
        plan.columns[c].field = spec->field;
        plan.columns[c].mapped = true;
        plan.spec[c] = &*spec;
        matched = true;
      }
    if (!matched) {
      std::string headers;
      for (const std::string& h : table.header) headers += (headers.empty() ? "" : ", ") + h;
      return Status::invalid("--map '" + mapping + "': the file has no column '" + header +
                             "' (its columns: " + headers + ")");
    }
  }
  if (std::none_of(plan.columns.begin(), plan.columns.end(),
                   [](const ImportColumn& c) { return c.field == "name"; })) {
    std::string headers;
    for (const std::string& h : table.header) headers += (headers.empty() ? "" : ", ") + h;
    const FieldSpec& name = specs.front();
    return Status::invalid("no column gives the " + name.zh + " (name) on line " +
                           std::to_string(table.header_line) + " (its columns: " + headers +
                           "): name one with --map \"列名=name\"");
  }
  return plan;
}

// ---- rows ----

// One row's values by field, and what is wrong with them.
struct RowValues {
  std::map<std::string, std::string> fields;  // record fields, normalised, non-empty only
  std::string village, grid;                  // as given
  std::vector<std::string> faults;
};

RowValues read_row(const TableRow& row, const ColumnPlan& columns) {
  RowValues out;
  std::size_t total_bytes = 0;
  for (std::size_t c = 0; c < row.cells.size(); ++c) {
    const FieldSpec* spec = columns.spec[c];
    std::string value = row.cells[c];
    if (spec == nullptr || value.empty()) continue;
    const std::string label = columns.columns[c].header;
    if (columns.columns[c].date) {
      std::string date = parse_date(value);
      if (date.empty()) {
        out.faults.push_back("date " + label + " '" + value.substr(0, 40) +
                             "' is no date (write it as 2021-03-05)");
        continue;
      }
      value = date;
    }
    switch (spec->type) {
      case FieldType::kPlace:
        (spec->field == kVillage ? out.village : out.grid) = value;
        continue;
      case FieldType::kBoolean: {
        auto yes = parse_boolean(value, spec->field);
        if (!yes) {
          out.faults.push_back("bad yes/no: " + label + " (" + spec->field + ") is '" +
                               value.substr(0, 40) + "', not 是 or 否");
          continue;
        }
        if (!out.fields.count(spec->field)) out.fields[spec->field] = *yes ? "true" : "false";
        continue;
      }
      case FieldType::kKey:
        if (!PublicKey::from_hex(value)) {
          out.faults.push_back("bad key: " + label + " (" + spec->field +
                               ") must be a public key of 64 hex digits");
          continue;
        }
        break;
      case FieldType::kList:
        value = normalise_list(value);
        break;
      case FieldType::kText:
        break;
    }
    std::string& field = out.fields[spec->field];
    field += (field.empty() ? "" : ", ") +
             value;  // several columns for one field: joined in column order
  }
  for (const auto& [field, value] : out.fields) {
    total_bytes += value.size();
    if (value.size() > limits::note_bytes_max)
      out.faults.push_back("too long: " + field + " is " + with_commas(value.size()) +
                           " bytes, more than a field holds (" +
                           with_commas(limits::note_bytes_max) + ")");
  }
  if (total_bytes > limits::import_row_field_bytes_max)
    out.faults.push_back("too long: the row's fields together are " + with_commas(total_bytes) +
                         " bytes, more than one record holds (" +
                         with_commas(limits::import_row_field_bytes_max) + ")");
  return out;
}

// The record's identity in the ledger: place and licence, place and name (units), or place, name
// and phone (people).
std::string join_key(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) {
    out += part;
    out += '\x1f';
  }
  return out;
}

// The village a village or grid code lies in (a grid's code is its village's and a suffix).
std::string village_of(const std::string& scope) {
  return scope.substr(0, scope.find('-'));
}

// Records held, by identity within their village: a unit entered at a village and listed later
// with its grid (or the other way round) is the same unit. A record keeps the scope it was made
// at; an import finds it there and edits it.
struct Held {
  std::vector<RecordState> records;
  std::multimap<std::string, std::size_t> by_licence, by_name;  // units
  std::multimap<std::string, std::size_t> by_person;            // people
};

Result<Held> load_held(const Store& store, ImportKind kind) {
  Held held;
  auto records = load_records(store, kind_name(kind));
  if (!records) return records.status();
  held.records = std::move(*records);
  for (std::size_t i = 0; i < held.records.size(); ++i) {
    const RecordState& r = held.records[i];
    if (kind == ImportKind::kUnits) {
      if (!r.field("licence").empty())
        held.by_licence.emplace(join_key({village_of(r.scope), r.field("licence")}), i);
      held.by_name.emplace(join_key({village_of(r.scope), r.field("name")}), i);
    } else {
      held.by_person.emplace(join_key({village_of(r.scope), r.field("name"), r.field("phone")}), i);
    }
  }
  return held;
}

std::vector<std::size_t> all_of(const std::multimap<std::string, std::size_t>& map,
                                const std::string& key) {
  std::vector<std::size_t> out;
  for (auto [at, end] = map.equal_range(key); at != end; ++at) out.push_back(at->second);
  return out;
}

// Of the records held that match a row in its village, those at the row's own place when there
// are any, else all of them.
std::vector<std::size_t> nearest(const Held& held, std::vector<std::size_t> matches,
                                 const std::string& scope) {
  std::vector<std::size_t> here;
  for (std::size_t i : matches)
    if (held.records[i].scope == scope) here.push_back(i);
  return here.empty() ? matches : here;
}

// Identities already seen in the file, with their lines.
struct Seen {
  std::map<std::string, std::size_t> by_licence, by_person;
  std::map<std::string, std::pair<std::size_t, bool>>
      by_name;  // line, and whether that row had no licence
};

class Planner {
 public:
  Planner(Store& store, const ImportOptions& options, const PublicKey& author,
          const PhysicalClock& clock, const Places& places, const Held& held)
      : store_(store),
        options_(options),
        author_(author),
        clock_(clock),
        places_(places),
        held_(held) {}

  // Adds the row's step to `plan`, or its refusal; an error only for a store failure.
  Status plan_row(const TableRow& row, const ColumnPlan& columns, ImportPlan& plan) {
    RowValues values = read_row(row, columns);
    if (!values.fields.count("name"))
      values.faults.insert(values.faults.begin(),
                           std::string("missing name: the ") + name_zh() + " is empty");
    std::string scope = place_of(values);
    if (!values.faults.empty()) return refuse(plan, row.line, values.faults);
    const bool units = options_.kind == ImportKind::kUnits;
    auto found = units ? find_unit(scope, values, row.line) : find_person(scope, values, row.line);
    if (std::holds_alternative<std::string>(found))
      return refuse(plan, row.line, {std::get<std::string>(found)});
    const std::optional<std::size_t> existing = std::get<std::optional<std::size_t>>(found);
    if (auto holder = values.fields.find("holder"); holder != values.fields.end()) {
      // A profile names the person (their first key), whichever of their keys the sheet gives.
      auto state = store_.authority();
      if (!state) return state.status();
      holder->second = (*state)->holder_of(*PublicKey::from_hex(holder->second)).hex();
    }
    RecordStepInput input{
        kind_name(options_.kind), "add", scope, std::nullopt, values.fields, {}, {}};
    if (existing) {
      const RecordState& record = held_.records[*existing];
      std::map<std::string, std::string> changed;
      for (const auto& [field, value] : values.fields)
        if (record.field(field) != value) changed[field] = value;
      if (changed.empty()) {
        ++plan.unchanged;
        return Status::ok();
      }
      input = {kind_name(options_.kind), "edit", "", record.id, changed, {}, {}};
    }
    auto draft =
        record_step_draft(store_, input, [](const char* field) { return std::string(field); });
    if (!draft) {
      if (store_failure(draft.status())) return draft.status();
      return refuse(plan, row.line, {draft.status().message()});
    }
    auto allowed = judged(input, draft->scope);
    if (!allowed) {
      if (store_failure(allowed.status())) return allowed.status();
      return refuse(plan, row.line, {allowed.status().message()});
    }
    if (!allowed->empty()) return refuse(plan, row.line, {*allowed});
    plan.steps.push_back({row.line, std::move(*draft), existing.has_value()});
    return Status::ok();
  }

 private:
  const char* name_zh() const { return options_.kind == ImportKind::kUnits ? "单位名称" : "姓名"; }

  static Status refuse(ImportPlan& plan, std::size_t line, const std::vector<std::string>& faults) {
    std::string reason;
    for (const std::string& fault : faults) reason += (reason.empty() ? "" : "; ") + fault;
    plan.refused.push_back({line, reason});
    return Status::ok();
  }

  // The row's scope: its grid, else its village, else --scope; its `grid` field the grid's code.
  std::string place_of(RowValues& values) const {
    std::string village, grid;
    if (!values.village.empty()) {
      auto resolved = places_.resolve(values.village, options_.default_scope, ScopeLevel::kVillage,
                                      "village 村");
      if (resolved.index() == 1)
        values.faults.push_back(std::get<1>(resolved));
      else
        village = std::get<0>(resolved);
    }
    if (!values.grid.empty()) {
      const std::string within = !village.empty() ? village : options_.default_scope;
      auto resolved = places_.resolve(values.grid, within, ScopeLevel::kGrid, "grid 网格");
      if (resolved.index() == 1)
        values.faults.push_back(std::get<1>(resolved));
      else
        grid = std::get<0>(resolved);
    }
    if (!values.faults.empty()) return "";
    if (!village.empty() && !grid.empty() && !scope_contains(village, grid)) {
      values.faults.push_back("grid 网格 " + grid + " is not in village 村 " + village);
      return "";
    }
    std::string scope = !grid.empty() ? grid : !village.empty() ? village : options_.default_scope;
    if (scope.empty()) {
      values.faults.push_back(
          "no place: the row names no village 村 or grid 网格, and no --scope was given");
      return "";
    }
    ScopeLevel level = scope_level(scope);
    if (level != ScopeLevel::kVillage && level != ScopeLevel::kGrid) {
      values.faults.push_back(std::string("no place: ") + scope + " is a " +
                              scope_level_name(level) +
                              "; a record here belongs to a village 村 or a grid 网格");
      return "";
    }
    if (!grid.empty()) values.fields["grid"] = grid;
    return scope;
  }

  using Found = std::variant<std::optional<std::size_t>, std::string>;

  Found held_match(const std::vector<std::size_t>& matches, const std::string& what) const {
    if (matches.size() == 1) return std::optional<std::size_t>(matches.front());
    if (matches.empty()) return std::optional<std::size_t>();
    std::string ids;
    for (std::size_t i : matches)
      ids += (ids.empty() ? "" : ", ") + held_.records[i].id.short_hex();
    return "duplicate: " + std::to_string(matches.size()) +
           " records this node holds already have " + what + " (" + ids +
           "); change them with 'anwang " +
           (options_.kind == ImportKind::kUnits ? "unit" : "person") + " edit'";
  }

  Found find_unit(const std::string& scope, const RowValues& values, std::size_t line) {
    const std::string& name = values.fields.at("name");
    auto licence_it = values.fields.find("licence");
    const std::string licence = licence_it == values.fields.end() ? "" : licence_it->second;
    const std::string name_key = join_key({scope, name});
    if (!licence.empty()) {
      const std::string key = join_key({scope, licence});
      if (auto seen = seen_.by_licence.find(key); seen != seen_.by_licence.end())
        return "duplicate: the same 统一社会信用代码 " + licence + " at " + scope + " as line " +
               std::to_string(seen->second);
      if (auto seen = seen_.by_name.find(name_key);
          seen != seen_.by_name.end() && seen->second.second)
        return "duplicate: the same 单位名称 " + name + " at " + scope + " as line " +
               std::to_string(seen->second.first) + ", which has no 统一社会信用代码";
      seen_.by_licence[key] = line;
      seen_.by_name.emplace(name_key, std::pair{line, false});
      Found by_licence = held_match(
          nearest(held_, all_of(held_.by_licence, join_key({village_of(scope), licence})), scope),
          "统一社会信用代码 " + licence + " in " + village_of(scope));
      if (!std::holds_alternative<std::optional<std::size_t>>(by_licence) ||
          std::get<0>(by_licence))
        return by_licence;
      // Not held with this licence: a unit entered by name alone (without a licence) is this one.
      std::vector<std::size_t> unlicensed;
      for (std::size_t i : all_of(held_.by_name, join_key({village_of(scope), name})))
        if (held_.records[i].field("licence").empty()) unlicensed.push_back(i);
      return held_match(
          nearest(held_, unlicensed, scope),
          "单位名称 " + name + " in " + village_of(scope) + " and no 统一社会信用代码");
    }
    if (auto seen = seen_.by_name.find(name_key); seen != seen_.by_name.end())
      return "duplicate: the same 单位名称 " + name + " at " + scope + " as line " +
             std::to_string(seen->second.first);
    seen_.by_name.emplace(name_key, std::pair{line, true});
    return held_match(
        nearest(held_, all_of(held_.by_name, join_key({village_of(scope), name})), scope),
        "单位名称 " + name + " in " + village_of(scope));
  }

  Found find_person(const std::string& scope, const RowValues& values, std::size_t line) {
    const std::string& name = values.fields.at("name");
    auto phone_it = values.fields.find("phone");
    const std::string phone = phone_it == values.fields.end() ? "" : phone_it->second;
    const std::string key = join_key({scope, name, phone});
    if (auto seen = seen_.by_person.find(key); seen != seen_.by_person.end())
      return "duplicate: the same 姓名 " + name + " and 电话 " + phone + " at " + scope +
             " as line " + std::to_string(seen->second);
    seen_.by_person[key] = line;
    return held_match(
        nearest(held_, all_of(held_.by_person, join_key({village_of(scope), name, phone})), scope),
        "姓名 " + name + " and 电话 " + phone + " in " + village_of(scope));
  }

  // Whether the rules let the acting key take the step's action at `scope` at all: empty when
  // they do, else why not. Asked of the store once per place and action, with a step that carries
  // only a name (a row's other fields are judged with its own step: by Store::judge_batch in a dry
  // run, and as it is signed).
  Result<std::string> judged(const RecordStepInput& step, const std::string& scope) {
    const std::string key = scope + "/" + step.action;
    if (auto it = verdicts_.find(key); it != verdicts_.end()) return it->second;
    RecordStepInput minimal = step;
    minimal.fields = {{"name", step.target ? held_name(*step.target) : std::string("名称")}};
    auto draft =
        record_step_draft(store_, minimal, [](const char* field) { return std::string(field); });
    if (!draft) return draft.status();
    auto verdict = store_.judge_draft(author_, *draft, clock_);
    if (!verdict) return verdict.status();
    std::string why = verdict->effective
                          ? ""
                          : "out of scope: the rules refuse this key a " +
                                std::string(kind_name(options_.kind)) + " " + step.action + " at " +
                                scope + " (" + verdict->reason + ")";
    verdicts_[key] = why;
    return why;
  }

  std::string held_name(const Hash32& id) const {
    for (const RecordState& r : held_.records)
      if (r.id == id) return r.field("name");
    return "名称";
  }

  Store& store_;
  const ImportOptions& options_;
  const PublicKey& author_;
  const PhysicalClock& clock_;
  const Places& places_;
  const Held& held_;
  Seen seen_;
  std::map<std::string, std::string> verdicts_;
};

// Judges each planned step as signing it would; those the rules refuse move to the refusals.
Status judge_every_step(Store& store, const PublicKey& author, const PhysicalClock& clock,
                        ImportPlan& plan) {
  std::vector<ImportStep> allowed;
  for (std::size_t at = 0; at < plan.steps.size(); at += limits::import_batch_ops_max) {
    const std::size_t end = std::min(plan.steps.size(), at + limits::import_batch_ops_max);
    std::vector<OpDraft> drafts;
    for (std::size_t i = at; i < end; ++i) drafts.push_back(plan.steps[i].draft);
    auto verdicts = store.judge_batch(author, drafts, clock);
    if (!verdicts) return verdicts.status();
    for (std::size_t i = at; i < end; ++i) {
      const Result<Verdict>& verdict = (*verdicts)[i - at];
      if (!verdict && store_failure(verdict.status())) return verdict.status();
      if (verdict && verdict->effective)
        allowed.push_back(std::move(plan.steps[i]));
      else
        plan.refused.push_back(
            {plan.steps[i].line,
             "refused by the rules: " + (verdict ? verdict->reason : verdict.status().message())});
    }
  }
  plan.steps = std::move(allowed);
  std::stable_sort(plan.refused.begin(), plan.refused.end(),
                   [](const ImportRefusal& a, const ImportRefusal& b) { return a.line < b.line; });
  return Status::ok();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> import_fields(ImportKind kind) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const FieldSpec& spec : specs_of(kind)) out.emplace_back(spec.field, spec.zh);
  return out;
}

Result<ImportPlan> plan_import(Store& store, const Table& table, const ImportOptions& options,
                               const PublicKey& author, const PhysicalClock& clock) {
  const std::string kind = kind_name(options.kind);
  if (record_actions().count(kind) == 0)
    return Status::invalid("this anwang has no '" + kind + "' records yet: it cannot import them");
  const std::vector<FieldSpec> specs = specs_of(options.kind);
  auto columns = plan_columns(table, specs, options);
  if (!columns) return columns.status();
  auto places = load_places(store);
  if (!places) return places.status();
  if (!options.default_scope.empty()) {
    if (Status s = check_scope(options.default_scope); !s)
      return Status::invalid("--scope: " + s.message());
    if (places->names.count(options.default_scope) == 0)
      return Status::invalid("--scope " + options.default_scope +
                             " is no region this node knows: define it with 'anwang region add', "
                             "or give a village or grid it knows");
  }
  auto held = load_held(store, options.kind);
  if (!held) return held.status();
  ImportPlan plan;
  plan.kind = kind;
  plan.columns = columns->columns;
  plan.rows = table.rows.size();
  Planner planner(store, options, author, clock, *places, *held);
  for (const TableRow& row : table.rows)
    if (Status s = planner.plan_row(row, *columns, plan); !s) return s;
  if (options.judge_every_row)
    if (Status s = judge_every_step(store, author, clock, plan); !s) return s;
  return plan;
}

ImportWritten write_import(Store& store, const KeyPair& key, const ImportPlan& plan,
                           const PhysicalClock& clock,
                           const std::function<void(const ImportProgress&)>& progress) {
  ImportWritten out;
  const auto started = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  auto count = [&](const ImportStep& step, const Result<Op>& op) {
    if (op)
      ++(step.edit ? out.changed : out.added);
    else
      out.refused.push_back({step.line, rules_refusal(op.status().message())});
  };
  for (std::size_t at = 0; at < plan.steps.size(); at += limits::import_batch_ops_max) {
    const std::size_t end = std::min(plan.steps.size(), at + limits::import_batch_ops_max);
    std::vector<OpDraft> drafts;
    for (std::size_t i = at; i < end; ++i) drafts.push_back(plan.steps[i].draft);
    auto batch = store.author_batch(key, drafts, clock);
    if (batch) {
      for (std::size_t i = at; i < end; ++i) count(plan.steps[i], (*batch)[i - at]);
    } else if (store_failure(batch.status())) {
      out.status = batch.status();
      break;
    } else {
      // A draft refused after it was written spoils its batch's transaction: each on its own.
      for (std::size_t i = at; i < end && out.status; ++i) {
        auto op = store.author(key, plan.steps[i].draft, clock);
        if (!op && store_failure(op.status()))
          out.status = op.status();
        else
          count(plan.steps[i], op);
      }
      if (!out.status) break;
    }
    out.seconds = seconds();
    if (progress) progress({end, plan.steps.size(), out.seconds});
  }
  out.seconds = seconds();
  return out;
}

}  // namespace anwang::node
