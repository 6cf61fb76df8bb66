// people.h — who is who: the person profiles (人员信息, crdt/RECORDS.md "Profiles") held here,
// bound to the persons the authority graph knows. A key belongs to a person, its holder (a phone
// and a PC of one person: crdt/AUTHORITY.md, "Holders"); a profile names that holder. Every edge
// that shows a key (the CLI, hazard and record histories, the inbox, the web UI) shows the name
// from here, and a key whose person has no profile still shows its fingerprint. Phone numbers are
// shown only where crdt's phone_visible_to() allows. Nothing here decides authority.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crdt/record.h"
#include "node/store.h"

namespace anwang::node {

struct Profile {
  Hash32 id;                        // the profile record
  std::string scope;                // the record's jurisdiction
  std::string name;
  std::string phone;
  std::string office;               // 职务, as written (网格员, 村安全员, …)
  std::string grid;                 // the person's grid, when given
  std::optional<PublicKey> holder;  // the person it is bound to; none until an office binds it
  std::uint64_t updated_hlc = 0;
  std::vector<PublicKey> keys;      // the keys whose holder this is, as the authority graph knows them
  std::vector<std::string> roles;   // their effective roles, "role@scope"
  bool conflict = false;            // a field holds concurrent values
  bool shadowed = false;            // another profile binds the same holder and was written later
};

class People {
 public:
  // Every profile held here, and the persons behind the keys of the authority graph.
  static Result<People> load(const Store& store);

  // The profile of the person a key belongs to, or null.
  const Profile* of_key(const PublicKey& key) const;
  // The person's name, or "" when no profile names them.
  std::string name_of(const PublicKey& key) const;
  // "张三" when a profile names the key's person, else the key's fingerprint.
  std::string label(const PublicKey& key) const;
  // The person (holder) a key belongs to.
  PublicKey holder_of(const PublicKey& key) const;
  // Whether `viewer` (none: nobody signed in) may read `profile`'s phone number.
  bool phone_visible(const Profile& profile, const std::optional<PublicKey>& viewer) const;
  // Profiles, newest first; the shadowed ones too (flagged).
  const std::vector<Profile>& profiles() const { return profiles_; }
  const Profile* by_id(const Hash32& id) const;

 private:
  std::shared_ptr<const AuthorityState> authority_;
  std::vector<Profile> profiles_;
  std::map<PublicKey, std::size_t> by_holder_;  // index into profiles_ of the profile in force
  std::map<PublicKey, std::vector<std::string>> scopes_by_holder_;  // each person's offices
};

// A profile as the CLI (`anwang person list --json`) and the web API print it; the phone only
// when `show_phone`.
nlohmann::json profile_json(const Profile& profile, bool show_phone);

}  // namespace anwang::node
