// The sync merge rule as one pure function: given the version of a memory that arrives (an
// import file, another node) and the one held here, what to hold afterwards and which
// user-written values lost to a concurrent write (docs/sync_protocol.md). No I/O: import, live
// sync and the property tests all call this, so they cannot disagree.
//
// - One side has seen everything the other has (its clock covers the other's): it is taken as
//   it is (a fast-forward), or ours is kept.
// - Otherwise the two are concurrent and merge field by field: tags as an observed-remove set
//   (additions from both sides survive; a removal drops only the additions it saw), each
//   metadata key and memory_type last-writer-wins, created_at the earliest, updated_at the
//   latest, alive/deleted last-writer-wins. A value set by an edit the winner never saw, that
//   differs from the winner's, is a lost edit (a conflict record); values a memory was created
//   with never are, so the same text stored on two machines merges silently.
// - The same clock with a different state (two writes that got the same version, e.g. by an
//   older mcp-memory) is repaired by the same field rules with a fixed tie-break, never
//   "unchanged".
// The result depends only on the two versions, not on which is "incoming": every node that
// has seen the same writes holds the same state, whatever order they arrived in.
#pragma once

#include <string>
#include <vector>

#include "core/memory.h"

namespace mcpmem {

struct LostEdit {
  Memory loser;                     // the side whose values lost, as it was
  std::vector<std::string> fields;  // "memory_type", "metadata.<key>", "deleted"
};

struct MergeDecision {
  enum class Kind {
    kUnchanged,     // the same version and state as ours
    kTakeIncoming,  // the incoming version has seen ours: it replaces it
    kKeepMine,      // ours has seen the incoming one
    kMerged,        // concurrent: `merged` combines both
    kRepaired,      // the same clock with a different state: `merged` is the deterministic repair
  };
  Kind kind = Kind::kUnchanged;
  Memory merged;               // what to hold (ours for kUnchanged and kKeepMine)
  std::vector<LostEdit> lost;  // at most one per side
};

// Both sides need field versions (with_field_versions). `mine.id` is kept.
MergeDecision decide(const Memory& incoming, const Memory& mine);

// The field versions, hlc and origin of a local write made with `version` (its node is the
// origin): a new memory, stored over its tombstone when there is one (it has seen the delete
// and all before it), and an edit of `before` into `after` (a delete or re-creation included):
// fields that changed get `version`, the others keep theirs.
void stamp_creation(Memory& m, const std::string& version, const Memory* tombstone);
void stamp_edit(const Memory& before, Memory& after, const std::string& version);

// Gives a memory without field versions (a row of the Python service or of mcp-memory before
// 0.4, a record of an export file) the ones every node derives the same way: every field
// written by its version (hlc, else one made of its last change time and origin), having seen
// prev_hlc. Sets hlc to the newest version. Does nothing to a memory that has them.
void with_field_versions(Memory& m);

}  // namespace mcpmem
