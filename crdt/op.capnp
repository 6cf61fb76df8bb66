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
  }
}

# Creates a network: one county. Its op id is the network id.
struct Genesis {
  countyCode @0 :Text;        # 6-digit administrative division code, equal to the op's scope
  countyName @1 :Text;
  rootKeys @2 :List(Data);    # 32-byte Ed25519 keys of the county root, strictly ascending
  threshold @3 :UInt8;        # k of the n root keys needed to amend the constitution
}

# Defines or renames a jurisdiction (township, village, grid, group).
struct Region {
  code @0 :Text;              # administrative code, equal to the op's scope
  name @1 :Text;
  boundary @2 :Text;          # optional GeoJSON polygon, empty when unknown
}

# Free text attached to an object: remarks, context, and the simplest op for tests.
struct Note {
  text @0 :Text;
}
