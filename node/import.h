// import.h — a county's ledger of units (台账) or its list of grid members, kept in Excel, made
// into signed record steps: what `anwang import units|people FILE` does (cli/commands_import.cpp).
//
// plan_import maps a sheet's columns to record fields (the names ledger templates and the seeds
// use, and explicit `--map "列名=field"` mappings; other columns are ignored and said so), checks
// every row and works out its step: a new record (`add`), an `edit` carrying only the fields that
// changed for a record the store already holds (a unit: same place and 统一社会信用代码 licence
// when the row has one, else same place and name; a person: same place, name and phone), or nothing
// (unchanged). A row is refused, with its line and one sentence per fault, when a required field is
// empty, a place (village or grid) is unknown or ambiguous, it repeats an earlier row or matches
// several records already held, a date, yes/no or key does not parse, a field is too long, or the
// authority rules would not let the acting key write at its place. Nothing here decides authority:
// the rules are asked through Store::judge_draft once per place and action, with a step carrying
// only a name ("out of scope" for every row of a place the key's office does not reach); a dry run
// (ImportOptions::judge_every_row) also has every row's own step judged (Store::judge_batch), so
// the rules' checks of its fields (a person's phone) are listed too; and the rules judge again
// every op as it is signed.
//
// write_import signs and ingests the planned steps through Store::author_batch,
// import_batch_ops_max per write transaction, and reports how each fared. A re-import of the same
// file plans nothing.
//
// Not thread-safe: one Store, one thread, as everything that writes to a Store.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "node/record_steps.h"
#include "node/store.h"
#include "node/table_file.h"

namespace anwang::node {

// What is imported: ledger units (record kind `unit`) or people (record kind `person`).
enum class ImportKind { kUnits, kPeople };

struct ImportOptions {
  ImportKind kind = ImportKind::kUnits;
  // --scope: the village or grid of a row whose village and grid cells are empty; also where a
  // village or grid named in words (not by code) is looked for first.
  std::string default_scope;
  // --map, as given: "列名=field", the column's header as in the file and a field of the kind.
  std::vector<std::string> mappings;
  // Judge every row's step by the rules now, as signing it would (Store::judge_batch), so that a
  // dry run lists every row the rules would refuse for its fields too (a person's phone that is no
  // phone number). Otherwise the rules are asked once per place and action before writing, and
  // judge every op as it is signed.
  bool judge_every_row = false;
};

// One column of the sheet and what became of it.
struct ImportColumn {
  std::string header;
  std::string field;    // the record field it fills ("village": the row's place); empty: ignored
  bool mapped = false;  // by --map (else recognised by its header, or ignored)
  bool date = false;    // read as a date (its header names one: 日期, 时间)
};

struct ImportRefusal {
  std::size_t line = 0;
  std::string reason;  // one sentence per fault, joined by "; "
};

struct ImportStep {
  std::size_t line = 0;
  OpDraft draft;
  bool edit = false;  // an edit of a record held (else a new record)
};

struct ImportPlan {
  std::string kind;  // "unit" or "person"
  std::vector<ImportColumn> columns;
  std::vector<ImportStep> steps;  // in file order
  std::size_t unchanged = 0;
  std::vector<ImportRefusal> refused;  // in file order
  std::size_t rows = 0;                // rows read below the header
};

// The fields each kind takes, with their Chinese names, for help and messages: "name 名称", ….
std::vector<std::pair<std::string, std::string>> import_fields(ImportKind kind);

// Errors (nothing planned): a --map that is malformed, names a column the file lacks or a field
// the kind lacks; no column for the required name; a --scope that is no known village or grid; the
// store (no network yet, I/O).
Result<ImportPlan> plan_import(Store& store, const Table& table, const ImportOptions& options,
                               const PublicKey& author, const PhysicalClock& clock);

struct ImportProgress {
  std::size_t done = 0;   // steps written or refused so far
  std::size_t total = 0;  // steps planned
  double seconds = 0;     // since writing began
};

struct ImportWritten {
  std::size_t added = 0;
  std::size_t changed = 0;
  std::vector<ImportRefusal> refused;  // steps the rules refused as they were signed
  double seconds = 0;
  Status status = Status::ok();  // a store or disk failure that stopped the import (what came
                                 // before it is kept)
};

// Writes the plan's steps signed by `key`, in batches, calling `progress` after each batch.
// A store or disk failure stops it: the batches before it are kept (ImportWritten::status).
ImportWritten write_import(Store& store, const KeyPair& key, const ImportPlan& plan,
                           const PhysicalClock& clock,
                           const std::function<void(const ImportProgress&)>& progress);

}  // namespace anwang::node
