// limits.h — every bound anwang enforces, in one place.
//
// Each constant carries its unit in its name and a comment on why it has that value. Code that
// needs a bound includes this header; no other file invents a number for one. Relations between
// bounds are static_asserted here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace anwang::limits {

// An op is a small record (a hazard action, a ledger field): photos travel as blobs. 64 KiB
// holds the largest realistic text (a long rectification notice) with room, and keeps a single
// op from monopolising a 2G link (64 KiB at 80 kbit/s is ~7 s).
inline constexpr std::size_t op_bytes_max = 64 * 1024;

// Cap'n Proto charges its traversal limit for every word a reader visits, each time it visits it.
// Verifying an op from outside (decode_op, crdt/op.cpp) visits it this many times: isCanonical()
// (the whole op), reading its fields (the whole op), canonicalize() of the body for the signature
// (the body), and a copy of the body for the object id of an op that creates an object (the body).
// A release that charged all of them against one op's words refused every op over about a third
// of op_bytes_max (a region with a 24 KiB boundary) that its author had stored: nodes diverged.
inline constexpr std::uint64_t op_decode_traversals = 4;
// Cap'n Proto traversal limit for one op, in 8-byte words: the largest op, once per traversal. It
// still bounds the work a hostile message can cause (pointers to shared data, lists of empty
// structs that claim many elements) to a few times that of reading the largest op.
inline constexpr std::uint64_t op_traversal_words_max = op_decode_traversals * (op_bytes_max / 8);

// Cap'n Proto nesting limit: our schema nests at most ~4 deep; 16 leaves room for growth.
inline constexpr int op_nesting_depth_max = 16;

// Causal parents: the heads of one object plus the heads of the authority graph. Concurrent
// writers on one record are a handful; 64 bounds a malicious fan-in.
inline constexpr std::size_t op_parents_max = 64;

// Text fields. A scope code is 12 digits, a dash and a short grid/group suffix.
inline constexpr std::size_t scope_bytes_max = 32;
inline constexpr std::size_t name_bytes_max = 256;            // region, county, key names
inline constexpr std::size_t note_bytes_max = 16 * 1024;      // free text in one op
inline constexpr std::size_t boundary_bytes_max = 32 * 1024;  // a GeoJSON polygon
// A point "LNG,LAT" (crdt/location.h): 7 decimals are 1 cm, finer than any phone's fix; the longest
// is "-180.0000000,-90.0000000", 24 bytes.
inline constexpr std::size_t location_decimals_max = 7;
inline constexpr std::size_t location_bytes_max = 2 * (1 + 3 + 1 + location_decimals_max) + 1;

// Constitution: roles, categories, settings and the lists inside a role. A county has about
// ten roles and ten categories; 64 leaves room without letting one op grow without bound.
inline constexpr std::size_t constitution_list_max = 64;
inline constexpr std::size_t identifier_bytes_max = 64;  // role, category, capability ids

// Authority verdicts are computed in rounds until no verdict changes (revocations reach forward
// to concurrent ops). Revocation runs strictly down the offices, so the rounds needed are about
// the depth of the office tree (county → township → village → grid: 4); 32 is a wide margin.
inline constexpr std::size_t authority_rounds_max = 32;

// A revocation's frontier op that is not an authority op is checked when it lies in the
// revocation's causal past (crdt/AUTHORITY.md, "Revocation"). To find out, the store walks back
// from where records enter that past (the parents of authority ops that are not authority ops:
// only ops written by hand or by releases that made the frontier a parent have them) through ops
// later than the frontier op, reading each. An honest revocation has no such entry and costs no
// read; a revocation of an earlier release names its frontier op as a parent and is settled at
// the first. The bound keeps a hand-made revocation over a long chain of records from costing
// more than a few milliseconds, at ingest and whenever the graph is loaded: past it the frontier
// is not checked. The walk visits ops in one order fixed by the ops themselves, so every node
// that holds the revocation stops at the same op and decides alike.
inline constexpr std::size_t revocation_frontier_walk_ops_max = 1024;

// Attachments: photos and scanned forms travel as blobs. A phone photo is 2–5 MiB; 32 MiB
// bounds a scanned multi-page form. Ten photos per step is more than any form asks for.
inline constexpr std::uint64_t blob_bytes_max = 32ull << 20;
inline constexpr std::size_t blob_chunk_bytes = 64 * 1024;  // one LMDB value, one resumable unit
inline constexpr std::size_t attachments_per_op_max = 10;
// Blobs a store receives in chunks at once, each with its running hash kept in memory (about
// 400 bytes): a sync session fetches one at a time, and a node has at most sessions_max sessions.
inline constexpr std::size_t blobs_arriving_max = 64;
// Fields and references of one record step: a ledger entry has about ten fields.
inline constexpr std::size_t record_fields_max = 32;
// A profile's phone number (人员信息): a mobile is 11 digits, a landline with area code and
// extension about 20; 32 leaves room for "+86", spaces and dashes.
inline constexpr std::size_t phone_bytes_max = 32;
// A training's hours (培训学时): a course of several weeks; beyond it a typing slip ("1500").
inline constexpr double training_hours_max = 200;

// County root: k-of-n keys. A county office has a few officials; 16 is generous.
inline constexpr std::size_t root_keys_max = 16;

// Key names in a node's keyring: file names, so short and plain.
inline constexpr std::size_t key_name_bytes_max = 64;
// Key files and key move files (node/KEYRING.md) are a few hundred bytes; a moved key's marker
// holds the path it went to, at most PATH_MAX on Linux. Larger files are refused before they are
// parsed.
inline constexpr std::size_t key_move_path_bytes_max = 4096;
inline constexpr std::size_t key_file_bytes_max = 8192;
static_assert(key_file_bytes_max > key_move_path_bytes_max + 512, "a moved key's marker holds its path and ~300 bytes");

// Backups (node/BACKUP.md). A file of the node home is carried in records of at most this many of
// its bytes: the blob chunk size, large enough that the 17 bytes of tag and 4 of length a record
// costs are nothing, small enough that a restore holds little in memory.
inline constexpr std::size_t backup_chunk_bytes = 64 * 1024;
// The files of a home beside the store (anwang.toml, node.key, key files) are a few KB; a backup
// naming a larger one is damaged, and backup refuses to carry one (it is not anwang's).
inline constexpr std::uint64_t backup_home_file_bytes_max = 1ull << 20;
// Key files a backup carries: a village node holds a few people's keys, a county office a few
// dozen; a backup naming more is damaged.
inline constexpr std::size_t backup_key_files_max = 4096;

// Ingest works in batches: one LMDB write transaction each. 1,024 ops of ~300 bytes is
// ~300 KiB of op bytes per commit: large enough to amortise the fsync, small enough that a
// power cut loses little unacknowledged work.
inline constexpr std::size_t ingest_batch_ops_max = 1024;
// Signature checks of one ingest batch run on at most this many threads, and only for batches
// of at least verify_parallel_ops_min ops (smaller ones are not worth starting threads for).
inline constexpr unsigned verify_threads_max = 4;
inline constexpr std::size_t verify_parallel_ops_min = 64;
// A sync session commits received ops in batches of up to ingest_batch_ops_max ops or this many
// bytes: on a slow link a dropped connection loses at most this much transfer.
inline constexpr std::size_t sync_commit_bytes_max = 512 * 1024;

// Importing a ledger or a list of people from an Excel file (`anwang import`, node/import.h).
// A county's ledger is about 50,000 units; 200,000 rows is four of them, and bounds what one
// file can make the import hold in memory (about 1 KiB a row).
inline constexpr std::size_t import_rows_max = 200'000;
// Columns of one sheet: a ledger template (台账) has 10 to 30; past 1,024 a file is no ledger.
inline constexpr std::size_t import_columns_max = 1024;
// A CSV file, and all the parts read from one XLSX file once uncompressed. A 50,000-row ledger
// is about 10 MiB as CSV and 30 MiB of XML inside its XLSX; a zip entry that claims more (a zip
// bomb claims gigabytes) is refused before it is read, and the bytes actually read are counted
// against this whatever the entry claims.
inline constexpr std::uint64_t import_file_bytes_max = 256ull << 20;
// One row's fields together: they become one op, which must stay under op_bytes_max with its
// envelope (author, parents, signature). Each field alone is at most note_bytes_max.
inline constexpr std::size_t import_row_field_bytes_max = op_bytes_max / 2;
static_assert(import_row_field_bytes_max >= note_bytes_max, "one field of the longest length fits a row");
// Ops an import signs and ingests in one write transaction: as many as one ingest batch, so a
// 50,000-row import commits (and flushes to disk) about 50 times rather than 50,000.
inline constexpr std::size_t import_batch_ops_max = ingest_batch_ops_max;

// Ops waiting for their parents. Bounded so a peer cannot fill the disk with orphans.
inline constexpr std::size_t pending_ops_max = 100'000;
// One sync session's share of the pending area. An honest peer sends parents before children
// (net/PROTOCOL.md), so its ops wait only while a reconciliation round is still finding older
// differences; a peer whose ops' parents never arrive is cut off here, and what it left waiting
// is dropped when its session ends. A tenth of the area: ten hostile peers at once to fill it.
inline constexpr std::size_t pending_ops_per_peer_max = pending_ops_max / 10;

// A session keeps its peer's waiting ops within pending_ops_per_peer_max by taking the excess out
// of the pending area and asking for it again once reconciliation has brought everything else:
// the bound limits memory, never progress. It remembers at most this many such ids (32 bytes each,
// 3.2 MB); any beyond are found again by the next session. It asks again while the last time
// brought progress, at most this many times (an honest peer needs one: by then every parent has
// come; a hostile one sending ops whose parents never come gets nowhere).
inline constexpr std::size_t sync_deferred_ops_max = 100'000;
inline constexpr std::size_t sync_retry_rounds_max = 8;

// Op file import/export (`anwang op export|import`): each record is length-prefixed.
inline constexpr std::size_t op_file_record_bytes_max = op_bytes_max;

// LMDB map size default: 1 GiB fits a village for years (~300 bytes/op x 1M ops with indexes)
// and can be raised in anwang.toml; on 64-bit it costs only address space.
inline constexpr std::uint64_t store_map_bytes_default = 1ull << 30;
inline constexpr std::uint64_t store_map_bytes_min = 1ull << 20;   // below 1 MiB LMDB is useless
inline constexpr std::uint64_t store_map_bytes_max = 1ull << 40;   // 1 TiB: beyond any county
inline constexpr unsigned store_readers_max = 126;                 // LMDB default reader slots
// Evaluated hazards a Store keeps in memory (a few KB each with their history): enough for every
// open hazard a township handles, about 10 MB at most on a county node.
inline constexpr std::size_t store_hazards_cached_max = 4096;
// Decoded ops a Store keeps in memory (an op's bytes and its decoded fields: 1.6 KB each on
// average in the simulator's workload, about 13 MB for 8,192): the ops of the hazards and records
// in use and of recent sync sessions. Also bounded by the kept ops' bytes, since an op may be
// 64 KiB and its decoded fields repeat its text: at most 4 MiB of op bytes, so at most about
// 3 × 4 MiB with the decoded copies.
inline constexpr std::size_t store_ops_cached_max = 8192;
// Ops of unknown kinds `anwang status` lists by id (all are counted): enough to find them, not a
// listing of a flood.
inline constexpr std::size_t deferred_listed_max = 100;
inline constexpr std::size_t store_ops_cached_bytes_max = 4 * 1024 * 1024;
// Ops up to which a Store keeps the list a sync session starts from (Store::for_each_item) in
// memory, 48 bytes each (about 12 MB at most, plus one Reach per distinct scope and notice
// recipient list). A larger store lists from its indexes every time.
inline constexpr std::size_t store_items_listed_max = 262144;

// Network frames (net/): an op plus its framing; checked before any allocation.
inline constexpr std::size_t frame_bytes_max = op_bytes_max + 1024;

// Reconciliation: one message holds at most this many ranges, one listed range this many ids
// (a side lists a range only when it holds few items there; a peer listing more is hostile).
inline constexpr std::size_t reconcile_ranges_per_message_max = 4096;
inline constexpr std::size_t reconcile_ids_per_range_max = 4096;
// A whole reconciliation message (sent in frame-sized parts): 4096 ranges of ~80 bytes.
inline constexpr std::size_t reconcile_message_bytes_max = 512 * 1024;
// A reply stops growing past this size and defers its remaining ranges to the next round, so
// replies stay within one frame and far below the message bound.
inline constexpr std::size_t reconcile_reply_bytes_target = 48 * 1024;
static_assert(reconcile_reply_bytes_target + 16 * 1024 < reconcile_message_bytes_max);
// Messages one side produces in a reconciliation. Honest peers need at most 4 each while the
// differences fit in a reply (net/PROTOCOL.md, "Reconciliation") and about one more per 48 KiB
// of ranges and lists beyond that; a peer that never lets a range settle is cut off here.
inline constexpr std::size_t reconcile_rounds_max = 1024;
// A count in a reconciliation fingerprint entry above this is a lie (no store holds 2^40 ops);
// refusing it keeps the arithmetic on counts exact.
inline constexpr std::uint64_t reconcile_count_max = std::uint64_t{1} << 40;
// The side holding one item more than its peer in a range finds it by trying each of its items
// against the peer's fingerprint: at most this many per range and per message, to bound the work
// a peer's message can cause.
inline constexpr std::size_t reconcile_trial_items_per_range_max = 8192;
inline constexpr std::size_t reconcile_trials_per_message_max = std::size_t{1} << 18;

// Session budgets (net/PROTOCOL.md, "Hostile peers"): what one session may cost this node, so an
// authenticated peer that floods, lists or stalls is cut off, and an honest session of a large
// store ends within them and leaves the rest to the next session (which finds only what is still
// missing). Each is a local decision: nothing on the wire changes.
//
// Ops one side sends, and ops it receives, in one session. A county-to-township session of a large
// store moves up to this many and the next session the rest: 131,072 ops of the figures' ~600 bytes
// (README, "Sync figures") are ~77 MB, about 20 s on loopback; a fresh village receives its
// 102,010 ops of the figures in one session. The sender stops offering ops at this count (those
// left over differ again next time); a receiver given more ends the session.
inline constexpr std::uint64_t sync_session_ops_max = 131'072;
// Op bytes one side sends in a session before it leaves the rest for the next one: 131,072 ops of
// 1 KiB. Ops of the simulator's workload average 1.6 KB, so a session of large ops stops here
// first.
inline constexpr std::uint64_t sync_session_op_bytes_sent_max = 128ull << 20;
// Bytes one side receives in a session, everything counted: the peer's ops (paced as above), its
// reconciliation messages (an honest side produces at most reconcile_rounds_max replies of about
// reconcile_reply_bytes_target + 16 KiB: 64 MiB), and attachments, which this side asks for only
// within what is left of this budget (always one, up to blob_bytes_max). A peer that sends more is
// cut off; 256 MiB takes 7 hours on 2G, so on a slow link the time budget ends a session first.
inline constexpr std::uint64_t sync_session_bytes_max = 256ull << 20;
// Ids a side records as lacking from its peer's full id lists. An honest peer lists full ids only
// where a listed prefix stood for another id (a collision: a handful a session), so the bound is
// for hostile lists; each costs about 200 bytes while it is asked for (the reconciler's list and
// set, the session's outstanding set): 16,384 are about 3 MB. At the bound the side ends
// reconciliation (it answers with nothing: every open range is settled for now) and the next
// session finds the rest.
inline constexpr std::size_t reconcile_fetch_ids_max = 16'384;
// Ids (8-byte prefixes) a peer may ask for with `need` in one session: its own fetch bound and the
// ops it set aside and asks for again (sync_deferred_ops_max), with room for a node of the previous
// release, whose need lists are not bounded. Each id is answered at most once a session (asked
// again, it is answered "not held"); beyond the send budget, "not held" too; a peer asking for
// more than this ends the session. One need message holds at most ingest_batch_ops_max prefixes,
// as every release sends them.
inline constexpr std::size_t sync_session_need_ids_max = 262'144;
// A session's wall time. A peer that sends `committed` or a byte every minute would otherwise
// hold its session (and its memory) for ever. An hour moves 36 MB over 2G (80 kbit/s): a session
// of a whole op budget of large ops over 2G may stop here; it keeps what it committed, and the
// next session goes on.
inline constexpr int sync_session_ms_max = 60 * 60 * 1000;

// Sync over a network: a silent peer is dropped after this long (a 2G link's 650 ms round trip
// and a 64 KiB frame at 20 kbit/s (~26 s) fit well within it).
inline constexpr int sync_receive_timeout_ms = 60'000;
// The handshake is three small messages (four in wire version 4): 10 s covers several 2G round trips; a peer that has not
// finished by then (half-open, dripping a byte a second) is dropped.
inline constexpr int handshake_ms_max = 10'000;
// An initiator sends its hello (message 1, about 100 bytes) as soon as it is connected: one 2G trip
// (650 ms) and a TCP retransmission (1 s at first) fit in 3 s. A connection that has not said
// hello by then is dropped, so a silent or dripping stranger holds a slot 3 s, not 10; the rest of
// the handshake has what is left of handshake_ms_max.
inline constexpr int handshake_first_message_ms_max = 3'000;
// Before the handshake has authenticated a peer, frames are small: the largest handshake message is 129 bytes
// (version 3; 113 in 4), the channel header 24, a refusal cut to fit. A stranger cannot make the node buffer more.
inline constexpr std::size_t handshake_frame_bytes_max = 256;
// anwangd: connections accepted but not yet authenticated (each costs a thread and a receive
// buffer until the handshake deadline). They are counted by network prefix (node/slots.h): a /24
// of IPv4 is what one host or small network commonly holds, and a single IPv6 host is given a
// whole /64, so counting exact addresses let eight IPv4 addresses, or one IPv6 host, take every
// slot. One prefix holds at most a quarter of the slots, so four networks are needed to fill
// them; and a full prefix or a full table gives up its oldest slot to a newcomer (the silent ones
// go first) rather than turn it away, so villages behind one carrier-grade NAT, each finishing its
// handshake in a few 2G round trips (a slot held ~2 s; a few hundred villages dialling every
// minute hold about ten at once), still get in.
inline constexpr int connections_unauthenticated_max = 64;
inline constexpr int connections_unauthenticated_per_prefix_max = 16;
inline constexpr int connections_prefix_bits_v4 = 24;
inline constexpr int connections_prefix_bits_v6 = 64;
// anwangd: authenticated sessions at once, one per peer node. A township serves a few dozen
// villages; a county a few dozen townships.
inline constexpr int sessions_max = 32;
// A peer that reconnects at once may find its previous session still winding down on the
// daemon's side (logging, releasing its slot). The new session waits this long for it before it
// is refused as a second session with the same node.
inline constexpr int session_handover_ms_max = 5'000;
// anwangd dials its neighbours this often, and backs off up to the maximum after failures.
inline constexpr int sync_interval_s_default = 60;
inline constexpr int sync_backoff_s_max = 15 * 60;

// Hybrid logical clock: the logical counter has 16 bits.
inline constexpr std::uint32_t hlc_counter_bits = 16;
// The ceiling of every timestamp: an op stamped at or after 2100-01-01T00:00:00Z is invalid on
// every node (crdt/OP_FORMAT.md). A single op at 2^64-1 once became a permanent parent that no
// later op could be stamped after, stopping every write in the county; below the ceiling, a
// child's `parent + 1` is far from wrapping (the 48 bits of milliseconds last until the year
// 10889). No node of this release writes in 2100; a later release may raise it.
inline constexpr std::uint64_t hlc_ms_ceiling = 4'102'444'800'000;

// Clocks (DESIGN §5 "Time", crdt/HAZARD.md "Overdue"). Two clocks that disagree by more than this
// disagree: clocks set by NTP or by hand from a phone agree within seconds, a PC clock without
// NTP drifts a few seconds a day, and a session's clock message is late by one 2G trip (under a
// second). Five minutes tells a wrong clock from a sane one while deadlines are counted in days.
// It is also how far ahead of this node's trusted time an op's timestamp may advance "now" for
// overdue flags.
inline constexpr std::uint64_t clock_skew_ms_max = 5 * 60 * 1000;
// A clock that reads earlier than this (2026-01-01T00:00:00Z) is wrong, whatever its peers say:
// no node runs this release before it was written. A Raspberry Pi without a real-time clock boots
// at 1970; its clock counts for nothing until a peer's does.
inline constexpr std::uint64_t clock_plausible_after_ms = 1'767'225'600'000;
// A peer's clock offset counts while it was observed within this long of this node's clock
// (either way): a village may go days without a link, and an older offset may predate the clock
// being set (it is dropped once the local clock has moved past it by this much).
inline constexpr std::uint64_t clock_offset_age_ms_max = 7ull * 24 * 60 * 60 * 1000;
// Peers whose latest clock offset a node keeps (one row each, the oldest dropped): a township
// talks to a few dozen villages, a county to a few dozen townships.
inline constexpr std::size_t clock_peers_max = 64;
// A peer's offset row is written again only when the offset moved by more than a second (a 2G
// trip's jitter) or was last written over an hour ago: a neighbour met every minute then costs one
// write an hour, not a write transaction at every session (and a session of a nearly full store
// writes nothing it need not).
inline constexpr std::uint64_t clock_offset_jitter_ms = 1'000;
inline constexpr std::uint64_t clock_offset_rewrite_ms = 60 * 60 * 1000;

// Person keys a node asks a peer about at the start of a session (wire version 3): its keyring
// holds the officers of one office, a handful. 128 keys are 4 KiB asked and 10 KiB answered,
// well within a frame (the hello counts them in one byte).
inline constexpr std::size_t key_heads_asked_max = 128;
// A refusal sentence sent to a peer (wire version 3): one sentence. Before the handshake it
// travels in a plain frame and is cut to fit handshake_frame_bytes_max.
inline constexpr std::size_t refusal_bytes_max = 1024;
// After sending a refusal a node reads (and drops) what the peer still sends until it closes, at
// most this long: closing with unread bytes resets the connection, and a reset can destroy the
// refusal before the peer reads it. Two 2G round trips; a peer cannot hold the node longer.
inline constexpr int refusal_linger_ms = 2'000;
// A rectification notice's deadline in days (`hazard notice --days`): relocating a plant may take
// years; ten years bounds a typo.
inline constexpr std::uint32_t notice_deadline_days_max = 3650;

static_assert(op_bytes_max % 8 == 0, "ops are whole Cap'n Proto words");
static_assert(op_traversal_words_max >= op_decode_traversals * (op_bytes_max / 8),
              "every traversal the decoder makes of the largest op fits the traversal limit");
static_assert(op_traversal_words_max <= 8 * (op_bytes_max / 8), "the limit stays a bound: a few readings of the largest op");
static_assert(note_bytes_max < op_bytes_max);
static_assert(boundary_bytes_max < op_bytes_max);
static_assert(location_bytes_max < identifier_bytes_max, "a location is a short field");
static_assert(frame_bytes_max > op_bytes_max, "a frame must carry the largest op");
static_assert(handshake_frame_bytes_max < frame_bytes_max);
static_assert(handshake_first_message_ms_max * 3 <= handshake_ms_max, "the first message's deadline is much shorter");
static_assert(pending_ops_per_peer_max >= ingest_batch_ops_max, "a peer's share holds at least one batch");
static_assert(pending_ops_per_peer_max <= pending_ops_max);
static_assert(blobs_arriving_max >= static_cast<std::size_t>(sessions_max), "each session's blob keeps its running hash");
static_assert(connections_unauthenticated_per_prefix_max * 4 <= connections_unauthenticated_max,
              "four networks are needed to take every slot");
static_assert(store_map_bytes_min <= store_map_bytes_default);
static_assert(store_map_bytes_default <= store_map_bytes_max);
static_assert(clock_skew_ms_max < clock_offset_age_ms_max);
static_assert(clock_offset_jitter_ms < clock_skew_ms_max && clock_offset_rewrite_ms < clock_offset_age_ms_max);
static_assert(key_heads_asked_max * 80 + 64 < frame_bytes_max, "a key-heads answer fits one frame");
static_assert(key_heads_asked_max <= 255, "a hello counts its keys in one byte");
static_assert(refusal_bytes_max + 64 < frame_bytes_max);
static_assert(notice_deadline_days_max <= 0xffff, "deadlineDays is a UInt16");
static_assert(hlc_ms_ceiling < (std::uint64_t{1} << (64 - hlc_counter_bits)) - 1, "hlc + 1 below the ceiling never wraps");
static_assert(hlc_ms_ceiling > clock_plausible_after_ms);
static_assert(reconcile_rounds_max * (reconcile_reply_bytes_target + 16 * 1024) + sync_session_op_bytes_sent_max +
                  blob_bytes_max + 32 * 1024 * 1024 <= sync_session_bytes_max,
              "an honest session's reconciliation, ops and one attachment fit the receiver's byte budget");
static_assert(reconcile_fetch_ids_max + sync_deferred_ops_max <= sync_session_need_ids_max,
              "an honest asker's need lists fit the answerer's bound");
// ---- The local web API and UI (node/web_server.h, node/web_api.h) ----
// It serves the people of one office on a LAN: a committee PC and a few dozen phones. A phone or
// a scanner on that LAN may be careless or hostile; these bounds keep the node (and its sync) up.
//
// A request's head (request line and headers) must arrive within this long of the connection
// opening or of the previous response: a peer trickling one header byte a second (slowloris)
// holds a connection at most this long.
inline constexpr int web_request_head_ms_max = 10'000;
// …and be at most this large: a browser's head with its cookie is under 2 KiB.
inline constexpr std::uint32_t web_request_head_bytes_max = 16 * 1024;
// A kept-alive connection with no request for this long is closed (a phone that walked away).
inline constexpr int web_idle_ms_max = 30'000;
// A request's body must arrive within this long: an 8 MiB photo at 100 KB/s over a poor Wi-Fi
// bridge takes 84 s.
inline constexpr int web_request_body_ms_max = 120'000;
// After refusing a request before reading its body (too large), the node reads and drops what the
// client still sends for at most this long, so the client reads the refusal rather than a reset.
inline constexpr int web_refusal_linger_ms = 5'000;
// A JSON body: a hazard report is under 4 KiB; a region's boundary (24 KiB at most in an op)
// with slack.
inline constexpr std::uint32_t web_json_body_bytes_max = 256 * 1024;
// A photo or scanned form uploaded from a browser: phones shrink photos to 1,600 px (a few hundred
// KiB) before upload; a scanned form from the PC may be larger. Matches what an op may cite.
inline constexpr std::uint32_t web_photo_bytes_max = 8 * 1024 * 1024;
// Connections at once: a village office's phones and PCs, with room for browsers that open six
// each. Per address: one browser's six, twice over.
inline constexpr int web_connections_max = 128;
inline constexpr int web_connections_per_address_max = 12;
// Signed-in sessions held at once (each holds an unlocked key in memory), and how long one lasts:
// it ends after this long without a request, and in any case after a working day.
inline constexpr std::size_t web_sessions_max = 256;
inline constexpr std::uint64_t web_session_idle_ms_max = 30ull * 60 * 1000;
inline constexpr std::uint64_t web_session_ms_max = 12ull * 60 * 60 * 1000;
// Wrong passphrases: after this many within the window for one key, or from one address, sign-in
// for that key (or from that address) is refused until the window passes. Argon2id makes each
// guess cost ~0.1 s of the node's CPU; this makes a dictionary attack cost years.
inline constexpr int web_signin_failures_per_key_max = 5;
inline constexpr int web_signin_failures_per_address_max = 20;
inline constexpr std::uint64_t web_signin_window_ms = 15ull * 60 * 1000;
// Resumable photo uploads (PUT blobs/HASH in pieces): a phone whose Wi-Fi drops mid-photo goes on
// from the bytes the node holds. Pieces are kept in the node's memory until the photo is whole:
// at most this many photos at once, this many bytes in all (an office's phones each sending one
// or two photos, with room), and each is dropped after this long without a new piece.
inline constexpr std::size_t web_uploads_max = 32;
// …and per person: a phone sends its photos one after another, so a person opening a third drops
// their own oldest (one careless or hostile account cannot hold the memory every phone shares).
inline constexpr std::size_t web_uploads_per_person_max = 2;
inline constexpr std::uint64_t web_upload_bytes_total_max = 64ull * 1024 * 1024;
inline constexpr std::uint64_t web_upload_idle_ms_max = 60ull * 60 * 1000;
// A list page: the UI shows 50 at a time; an API client may ask for up to this many.
inline constexpr std::size_t web_page_size_default = 50;
inline constexpr std::size_t web_page_size_max = 500;
// The map (GET map): at most this many located hazards and units, the open hazards first (a few
// hundred dots is what a village or township screen can show; 1,000 is about 250 KB of JSON), and
// boundaries up to this many bytes in all (64 boundaries at the 32 KiB op bound, or hundreds of
// simplified ones), the coarsest first; the answer says when either is cut.
inline constexpr std::size_t web_map_points_max = 1000;
inline constexpr std::size_t web_map_boundary_bytes_max = 2 * 1024 * 1024;
// A hazard's description as the map's label carries it: a line, not the whole report.
inline constexpr std::size_t web_map_label_bytes_max = 120;
// Basemap tiles (GET tiles/Z/X/Y from an MBTiles file): zoom levels 0 to 22 (a street at zoom 18,
// a yard at 22), and a tile of at most 1 MiB (a 256 px raster tile is 10 to 100 KiB).
inline constexpr int web_tile_zoom_max = 22;
inline constexpr std::size_t web_tile_bytes_max = 1024 * 1024;

// `anwang region import FILE.geojson`: one batch of region ops (ingest_batch_ops_max features), so
// the file holds at most that many boundaries of boundary_bytes_max, with room for its framing.
inline constexpr std::size_t region_import_features_max = ingest_batch_ops_max;
inline constexpr std::uint64_t region_import_file_bytes_max = 64ull * 1024 * 1024;
static_assert(region_import_file_bytes_max >= region_import_features_max * boundary_bytes_max * 3 / 2);

static_assert(sync_session_ops_max <= sync_session_need_ids_max);
static_assert(sync_session_op_bytes_sent_max + frame_bytes_max < sync_session_bytes_max,
              "the sender stops before the receiver's bound");

}  // namespace anwang::limits
