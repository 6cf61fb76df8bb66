# A copy of crdt/op.capnp's wire layout (keep the ordinals in step) with one payload variant more: what a newer anwang might
# send. Tests use it to prove that an op with an unknown payload is refused cleanly.
@0xa1d0e7c3b2f49a11;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("anwang::future");

struct SignedOp {
  body @0 :OpBody;
  signature @1 :Data;
}

struct OpBody {
  formatVersion @0 :UInt16;
  network @1 :Data;
  author @2 :Data;
  authorSeq @3 :UInt64;
  authorPrev @4 :Data;
  parents @5 :List(Data);
  hlc @6 :UInt64;
  scope @7 :Text;
  object @8 :Data;
  payload :union {
    genesis @9 :AnyPointer;
    region @10 :AnyPointer;
    note @11 :Note;
    delegation @12 :AnyPointer;
    revocation @13 :AnyPointer;
    reaffirmation @14 :AnyPointer;
    enrolment @15 :AnyPointer;
    amendment @16 :AnyPointer;
    hazard @17 :AnyPointer;
    record @18 :AnyPointer;
    fromTheFuture @19 :Note;
  }
}

struct Note {
  text @0 :Text;
}
