// The merge rule: see merge.h. Every rule below is symmetric in its two sides (ties broken by
// comparing values), which is what makes the result independent of arrival order.
#include "service/merge.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/hlc.h"

namespace mcpmem {
namespace {

// What a user can see of a memory.
bool same_state(const Memory& a, const Memory& b) {
  if (a.is_deleted() || b.is_deleted()) {
    return a.is_deleted() == b.is_deleted() && a.deleted_at == b.deleted_at;
  }
  return a.content == b.content && a.tags == b.tags && a.memory_type == b.memory_type &&
         a.metadata == b.metadata && a.created_at == b.created_at;
}

// One side of a concurrent merge, with what it lost.
struct Side {
  const Memory& m;
  std::vector<std::string> lost_fields;
};

// Was `version` written by an edit of `side`, rather than by the write that created it?
bool is_edit(const Side& side, const std::string& version) {
  return side.m.is_deleted() || version != side.m.fields.alive;
}

// A last-writer-wins register: which side wins (0 = a), noting a lost edit on the other.
// `order` compares the values (0 = equal), for the tie of one version with two values.
int pick_register(Side& a, Side& b, const std::string& field, const std::string& va,
                  const std::string& vb, int order) {
  if (va == vb) return order >= 0 ? 0 : 1;
  const int winner = va > vb ? 0 : 1;
  Side& w = winner == 0 ? a : b;
  Side& l = winner == 0 ? b : a;
  const std::string& lost_version = winner == 0 ? vb : va;
  if (order != 0 && !w.m.fields.covers(lost_version) && is_edit(l, lost_version)) {
    l.lost_fields.push_back(field);
  }
  return winner;
}

int compare_json(const Json& a, const Json& b) {
  if (a == b) return 0;
  return a.dump() < b.dump() ? -1 : 1;
}

// Does `side` hold a write the other side's clock has not seen?
bool has_unseen_write(const Memory& side, const FieldVersions& other) {
  for (const auto& [node, version] : side.fields.clock) {
    if (!other.covers(version)) return true;
  }
  return false;
}

Memory merge_concurrent(const Memory& ma, const Memory& mb, std::vector<LostEdit>& lost) {
  Side a{ma, {}};
  Side b{mb, {}};
  const FieldVersions& fa = ma.fields;
  const FieldVersions& fb = mb.fields;
  Memory out;
  out.id = ma.id != 0 ? ma.id : mb.id;
  out.content_hash = ma.content_hash;
  out.updated_at = std::max(ma.updated_at, mb.updated_at);
  FieldVersions& f = out.fields;
  f.clock = fa.clock;
  for (const auto& [node, version] : fb.clock) f.observe(version);

  // Tags: an addition survives when both sides hold it, or when the other side never saw it.
  std::set<std::string> all_tags;
  for (const auto& [tag, v] : fa.tags) all_tags.insert(tag);
  for (const auto& [tag, v] : fb.tags) all_tags.insert(tag);
  for (const std::string& tag : all_tags) {
    static const std::vector<std::string> kNone;
    auto ia = fa.tags.find(tag);
    auto ib = fb.tags.find(tag);
    const auto& da = ia == fa.tags.end() ? kNone : ia->second;
    const auto& db = ib == fb.tags.end() ? kNone : ib->second;
    std::set<std::string> live;
    for (const std::string& v : da) {
      if (std::find(db.begin(), db.end(), v) != db.end() || !fb.covers(v)) live.insert(v);
    }
    for (const std::string& v : db) {
      if (std::find(da.begin(), da.end(), v) != da.end() || !fa.covers(v)) live.insert(v);
    }
    if (live.empty()) continue;
    f.tags[tag] = std::vector<std::string>(live.begin(), live.end());
    out.tags.push_back(tag);  // sorted: a merged tag list reads the same on every node
  }
  if (out.tags.empty()) {
    out.tags = {"untagged"};
    f.tags["untagged"] = {f.newest()};
  }

  // Creations: one a later creation saw is gone; the others stay, the earliest gives created_at.
  for (const auto& [version, at] : fa.created) {
    if (fb.created.count(version) != 0 || !fb.covers(version)) f.created[version] = at;
  }
  for (const auto& [version, at] : fb.created) {
    if (fa.created.count(version) != 0 || !fa.covers(version)) f.created[version] = at;
  }
  if (f.created.empty())
    f.created[std::max(fa.alive, fb.alive)] = std::min(ma.created_at, mb.created_at);
  out.created_at = earliest_creation(f);

  // memory_type.
  const int type_order = ma.memory_type == mb.memory_type  ? 0
                         : ma.memory_type < mb.memory_type ? -1
                                                           : 1;
  const bool type_a = pick_register(a, b, "memory_type", fa.type, fb.type, type_order) == 0;
  out.memory_type = type_a ? ma.memory_type : mb.memory_type;
  f.type = type_a ? fa.type : fb.type;

  // Metadata, key by key; a key on one side only survives unless the other side saw it go.
  std::set<std::string> keys;
  for (const auto& [k, v] : fa.metadata) keys.insert(k);
  for (const auto& [k, v] : fb.metadata) keys.insert(k);
  for (const std::string& key : keys) {
    auto ia = fa.metadata.find(key);
    auto ib = fb.metadata.find(key);
    auto value_a = ma.metadata.find(key);
    auto value_b = mb.metadata.find(key);
    if (ia != fa.metadata.end() && ib != fb.metadata.end() && value_a != ma.metadata.end() &&
        value_b != mb.metadata.end()) {
      const int order = compare_json(*value_a, *value_b);
      const bool from_a =
          pick_register(a, b, "metadata." + key, ia->second, ib->second, order) == 0;
      out.metadata[key] = from_a ? *value_a : *value_b;
      f.metadata[key] = from_a ? ia->second : ib->second;
    } else if (ia != fa.metadata.end() && value_a != ma.metadata.end() && !fb.covers(ia->second)) {
      out.metadata[key] = *value_a;
      f.metadata[key] = ia->second;
    } else if (ib != fb.metadata.end() && value_b != mb.metadata.end() && !fa.covers(ib->second)) {
      out.metadata[key] = *value_b;
      f.metadata[key] = ib->second;
    }
  }

  // Alive or deleted. A delete that wins over writes it never saw, or a re-creation that wins
  // over a delete it never saw, loses the other side's intent: a conflict either way.
  const bool alive_a =
      fa.alive == fb.alive ? !(ma.deleted_at > mb.deleted_at) : fa.alive > fb.alive;
  const Memory& kept = alive_a ? ma : mb;
  const Memory& other = alive_a ? mb : ma;
  Side& other_side = alive_a ? b : a;
  f.alive = kept.fields.alive;
  out.deleted_at = kept.deleted_at;
  // Content is written once, when a memory is (re-)created; two texts with one hash differ in
  // case or Unicode form only. The newer creation's text wins; tombstones may travel without.
  const bool a_newer_text = fa.alive == fb.alive ? ma.content > mb.content : fa.alive > fb.alive;
  out.content = a_newer_text ? ma.content : mb.content;
  if (out.content.empty()) out.content = a_newer_text ? mb.content : ma.content;
  if (kept.is_deleted() != other.is_deleted()) {
    const bool unseen = kept.is_deleted() ? has_unseen_write(other, kept.fields)
                                          : !kept.fields.covers(other.fields.alive);
    if (unseen) other_side.lost_fields.push_back("deleted");
  }

  const std::string newest = f.newest();
  out.hlc = newest;
  if (auto h = Hlc::parse(newest)) out.origin = h->node;
  for (Side* s : {&a, &b}) {
    if (!s->lost_fields.empty()) lost.push_back({s->m, std::move(s->lost_fields)});
  }
  return out;
}

}  // namespace

MergeDecision decide(const Memory& incoming, const Memory& mine) {
  MergeDecision d;
  const bool incoming_saw_mine = incoming.fields.dominates(mine.fields);
  const bool mine_saw_incoming = mine.fields.dominates(incoming.fields);
  if (incoming_saw_mine && mine_saw_incoming && incoming.fields == mine.fields &&
      same_state(incoming, mine) && incoming.tags == mine.tags) {
    d.kind = MergeDecision::Kind::kUnchanged;
    d.merged = mine;
  } else if (incoming_saw_mine && !mine_saw_incoming) {
    d.kind = MergeDecision::Kind::kTakeIncoming;
    d.merged = incoming;
    d.merged.id = mine.id;
    d.merged.updated_at = std::max(incoming.updated_at, mine.updated_at);
    if (d.merged.content.empty()) d.merged.content = mine.content;  // tombstones travel bare
  } else if (mine_saw_incoming && !incoming_saw_mine) {
    d.kind = MergeDecision::Kind::kKeepMine;
    d.merged = mine;
  } else {
    d.kind = incoming_saw_mine ? MergeDecision::Kind::kRepaired : MergeDecision::Kind::kMerged;
    d.merged = merge_concurrent(incoming, mine, d.lost);
    d.merged.id = mine.id;
  }
  return d;
}

void stamp_creation(Memory& m, const std::string& version, const Memory* tombstone) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : m.metadata.items()) keys.push_back(key);
  m.fields = fields_written_by(version, m.tags, keys, m.created_at);
  if (tombstone != nullptr) {
    m.updated_at = std::max(m.updated_at, tombstone->updated_at);
    Memory old = *tombstone;
    with_field_versions(old);
    for (const auto& [node, seen] : old.fields.clock) m.fields.observe(seen);
  }
  m.hlc = version;
  m.origin = Hlc::parse(version)->node;
}

void stamp_edit(const Memory& before, Memory& after, const std::string& version) {
  // updated_at is the latest change anyone made, whatever their clocks: never moves back.
  after.updated_at = std::max(after.updated_at, before.updated_at);
  Memory old = before;
  with_field_versions(old);
  FieldChange change;
  change.old_tags = &old.tags;
  change.new_tags = &after.tags;
  change.old_metadata = &old.metadata;
  change.new_metadata = &after.metadata;
  change.type_changed = old.memory_type != after.memory_type;
  change.alive_changed = old.is_deleted() != after.is_deleted();
  after.fields = fields_after_edit(old.fields, change, version);
  after.hlc = version;
  after.origin = Hlc::parse(version)->node;
}

void with_field_versions(Memory& m) {
  if (!m.fields.empty()) {
    m.hlc = m.fields.newest();
    return;
  }
  std::string version = m.hlc;
  if (!Hlc::parse(version)) {
    const double t = m.deleted_at ? *m.deleted_at : m.updated_at;
    version = Hlc{static_cast<int64_t>(std::llround(t * 1000.0)), 0, sanitize_node_name(m.origin)}
                  .to_string();
  }
  std::vector<std::string> keys;
  for (const auto& [key, value] : m.metadata.items()) keys.push_back(key);
  m.fields = fields_written_by(version, m.tags, keys, m.created_at);
  if (Hlc::parse(m.prev_hlc) && m.prev_hlc < version) m.fields.observe(m.prev_hlc);
  m.hlc = version;
}

}  // namespace mcpmem
