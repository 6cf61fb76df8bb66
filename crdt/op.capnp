# The signed operation: anwang's one record format. See crdt/OP_FORMAT.md.
#
# Compatibility rules (a node upgraded next year must read what it wrote this year):
#  - never renumber, retype or remove a field; only append fields and union members;
#  - an op's bytes are the canonical encoding of SignedOp, so appending fields keeps old ops
#    canonical (canonical form drops trailing zero/null fields);
#  - a node that meets a payload it does not know refuses the op as "unknown payload" and keeps
#    nothing of it, so a newer peer can send it again after this node is upgraded.
@0xf8186f86be975523;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("anwang::schema");

struct SignedOp {
  body @0 :OpBody;
  signature @1 :Data;      # Ed25519, 64 bytes, by body.author over "anwang/op/v1\0" ++ canonical(body)
}

struct OpBody {
  formatVersion @0 :UInt16;   # 1 for everything this schema describes
  network @1 :Data;           # 32-byte network id (id of the genesis op); empty in the genesis itself
  author @2 :Data;            # 32-byte Ed25519 public key of the signer
  authorSeq @3 :UInt64;       # 1 for an author's first op, then +1 for each op
  authorPrev @4 :Data;        # id of the author's op with authorSeq - 1; empty when authorSeq == 1
  parents @5 :List(Data);     # causal parents: 32-byte op ids, strictly ascending
  hlc @6 :UInt64;             # hybrid logical clock: ms since 1970 << 16 | logical counter
  scope @7 :Text;             # jurisdiction code the op's object belongs to (e.g. "150430")
  object @8 :Data;            # 32-byte id of the object the op touches
  payload :union {
    genesis @9 :Genesis;
    region @10 :Region;
    note @11 :Note;
    delegation @12 :Delegation;
    revocation @13 :Revocation;
    reaffirmation @14 :Reaffirmation;
    enrolment @15 :Enrolment;
    amendment @16 :Amendment;
    hazard @17 :HazardAction;
    record @18 :RecordAction;
  }
}

# Creates a network: one county. Its op id is the network id.
struct Genesis {
  countyCode @0 :Text;        # 6-digit administrative division code, equal to the op's scope
  countyName @1 :Text;
  rootKeys @2 :List(Data);    # 32-byte Ed25519 keys of the county root, strictly ascending
  threshold @3 :UInt8;        # k of the n root keys needed to amend the constitution
  constitution @4 :Constitution;
}

# Levels, roles, categories and settings of one county (see node/constitution.toml).
struct Constitution {
  roles @0 :List(Role);
  categories @1 :List(Category);
  settings @2 :List(Setting);
}

struct Role {
  id @0 :Text;                # stable id scripts rely on: "village_head"
  nameZh @1 :Text;
  nameEn @2 :Text;
  levels @3 :List(Text);      # scope levels it is held at: "county", "township", "village", "grid"
  rank @4 :UInt16;            # seniority at one scope: a higher rank may revoke a lower one
  capabilities @5 :List(Text);  # actions it allows, e.g. "delegate", "note"
  mayDelegate @6 :List(Text);   # role ids its holders may grant
  categoryBound @7 :Bool;     # acts only within the hazard categories of its grant (departments)
}

struct Category {
  id @0 :Text;                # "fire"
  nameZh @1 :Text;
  nameEn @2 :Text;
  department @3 :Text;        # the department that owns it
}

struct Setting {
  name @0 :Text;              # e.g. "patrol_interval_days_key_unit"
  value @1 :Int64;
}

# Defines or renames a jurisdiction (township, village, grid, group).
struct Region {
  code @0 :Text;              # administrative code, equal to the op's scope
  name @1 :Text;
  boundary @2 :Text;          # optional GeoJSON polygon, empty when unknown
}

# Grants a role at a scope to a key. The grant is the op's object; scope = the op's scope.
struct Delegation {
  grantee @0 :Data;           # 32-byte key receiving the role
  role @1 :Text;
  categories @2 :List(Text);  # for category-bound roles: the categories it covers
  holder @3 :Data;            # optional: the person's first key, when the grantee is another device
                              # of a person who holds one already (a phone and a PC of one person)
}

# Takes away the roles a key holds within the op's scope that the author may revoke.
struct Revocation {
  key @0 :Data;               # 32-byte key revoked
  reason @1 :Text;            # "left" or "compromised"
  frontierSeq @2 :UInt64;     # the revoked key's latest op seen by the revoker (0: none seen)
  frontier @3 :Data;          # that op's id (named, not a parent: see AUTHORITY.md); empty when frontierSeq is 0
}

# Lifts the suspension of a key that equivocated at sequence number `seq`.
struct Reaffirmation {
  key @0 :Data;
  seq @1 :UInt64;
}

# Enrols a node key to serve the op's scope (its certificate).
struct Enrolment {
  nodeKey @0 :Data;
}

# Replaces the constitution; needs the county's threshold of root keys (author included).
struct Amendment {
  number @0 :UInt32;          # 1 for the first amendment, then +1
  constitution @1 :Constitution;
  cosignatures @2 :List(Cosignature);
}

struct Cosignature {
  key @0 :Data;               # a root key
  signature @1 :Data;         # Ed25519 over "anwang/amend/v1\0" ++ network ++ number (u32 BE) ++ canonical(constitution)
}

# A photo or scanned form, stored as a blob by its BLAKE2b-256 hash and sent separately.
struct Attachment {
  hash @0 :Data;              # 32 bytes
  size @1 :UInt64;            # bytes
  mediaType @2 :Text;         # e.g. "image/jpeg"
}

# One step of a hazard (隐患) through the closed loop. The hazard is the op's object: the id
# authored_object_id(reporter, seq) of its report. `action` says which fields apply:
#   report            category, severity, text, unit, photos, majorForm (severity "major"), location
#   fix               text, photos (after-photos; general hazards only)          现场整改
#   notice            deadlineMs (or deadlineDays), responsible, acceptor, measures, text   整改通知书
#   escalate          toLevel ("township" | "county"), text                      上报
#   receive           text                                                       签收
#   assign            department (a category id) or assignee (a key), text       交办
#   handled           text, photos                                               已办理
#   verify            pass, text, photos                       复查: 销号 or 驳回
#   reclassify        category and/or severity, text
#   comment           text, photos (photos make it new evidence), location (corrects it)
#   signoff           text                                     重大隐患双签
#   list_supervision  text                                     挂牌督办
#   stop_work         text                                     停产整改
#   close             text (dismiss with a reason, by an office at the level reached)
struct HazardAction {
  action @0 :Text;
  text @1 :Text;
  photos @2 :List(Attachment);
  category @3 :Text;
  severity @4 :Text;          # "general" (一般) or "major" (重大)
  unit @5 :Data;              # business unit object id, optional
  deadlineMs @6 :UInt64;
  responsible @7 :Text;
  acceptor @8 :Data;          # key of the acceptor (验收人), optional
  measures @9 :Text;
  toLevel @10 :Text;
  department @11 :Text;
  assignee @12 :Data;
  pass @13 :Bool;
  majorForm @14 :Text;        # the major-hazard report form, as text
  deadlineDays @15 :UInt16;   # a notice's deadline counted from the notice's own timestamp: then
                              # deadlineMs = hlc_ms(hlc) + deadlineDays days (crdt/OP_FORMAT.md);
                              # 0: deadlineMs alone gives the deadline (ops of earlier releases)
  location @16 :Text;         # where the hazard is: "LNG,LAT" in decimal degrees (crdt/location.h), on a
                              # report or a comment that corrects it; absent: not given (issue 22)
}

# A step on a grid record other than a hazard. `kind` and `action` (see crdt/RECORDS.md):
#   unit        add | edit | confirm | close      the business ledger (企业台账)
#   inspection  record                            a patrol (巡查) of one unit
#   tip         enter | verify                    a public tip (群众举报)
#   incident    report | update                   an incident (事故)
#   notice      send | acknowledge                a notice (文件送达) and its receipts (送达登记)
# Fields are named values; each field of a record is a register (the causally latest write wins,
# concurrent writes stay visible as a conflict).
struct RecordAction {
  kind @0 :Text;
  action @1 :Text;
  fields @2 :List(Field);
  photos @3 :List(Attachment);
  refs @4 :List(Data);        # related objects: the unit of an inspection, hazards found, …
}

struct Field {
  name @0 :Text;
  value @1 :Text;
}

# Free text attached to an object: remarks, context, and the simplest op for tests.
struct Note {
  text @0 :Text;
}
