# HazardAction as crdt/op.capnp had it before issue 22 appended `location @16` (keep the ordinals in
# step): tests encode a step with it and with today's schema and compare the canonical bytes, so
# an op without a location keeps the id and signature an earlier release gave it.
@0xc5e1a7d2946b3f08;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("anwang::before_location");

struct Attachment {
  hash @0 :Data;
  size @1 :UInt64;
  mediaType @2 :Text;
}

struct HazardAction {
  action @0 :Text;
  text @1 :Text;
  photos @2 :List(Attachment);
  category @3 :Text;
  severity @4 :Text;
  unit @5 :Data;
  deadlineMs @6 :UInt64;
  responsible @7 :Text;
  acceptor @8 :Data;
  measures @9 :Text;
  toLevel @10 :Text;
  department @11 :Text;
  assignee @12 :Data;
  pass @13 :Bool;
  majorForm @14 :Text;
  deadlineDays @15 :UInt16;
}
