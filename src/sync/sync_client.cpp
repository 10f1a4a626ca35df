// The spoke's sync round: see sync_client.h. A round's requests go through one HttpClient,
// so they share one connection (and one TLS handshake) to the hub.
#include "sync/sync_client.h"

#include <spdlog/spdlog.h>

#include <unordered_set>
#include <utility>

#include "core/json_parse.h"
#include "core/time_format.h"
#include "platform/http_client.h"
#include "platform/url.h"
#include "service/version_json.h"
#include "sync/sync_state.h"

namespace mcpmem {
namespace {

constexpr size_t kMaxPushBytes = 2u << 20;  // well under the hub's 4 MiB request limit
// A pull reply holds at most `batch` versions; 1000 memories of the 1 MiB content limit are
// 1 GiB. A reply larger than that is not a hub's.
constexpr int64_t kMaxReplyBytes = 1ll << 30;
// Pulls are GETs the hub answers 503 when its request queue is full: tried again this often
// (with the client's backoff) before the round fails. Pushes are not retried on 503.
constexpr int kPullRetries = 2;

// What went wrong on the way, in words a user can act on; "" when it was not the transport.
std::string transport_error(HttpFailure failure) {
  switch (failure) {
    case HttpFailure::kCannotConnect:
      return "cannot connect (is the hub running, and is the address and port right?)";
    case HttpFailure::kConnectTimeout:
      return "timed out connecting (is a firewall in the way?)";
    case HttpFailure::kTimeout:
    case HttpFailure::kConnectionBroken:
      return "the connection broke or timed out while waiting for the reply";
    case HttpFailure::kSendFailed:
      return "the connection broke while sending";
    case HttpFailure::kTlsHandshake:
      return "the TLS handshake failed (is the hub serving https on that port?)";
    case HttpFailure::kUntrustedCertificate:
      return "the hub's certificate is not trusted (give it with --hub-ca, or use its name "
             "as in the certificate)";
    case HttpFailure::kBadCaFile:
      return "the CA file (--hub-ca) cannot be read or holds no certificate";
    default:
      return "";
  }
}

// `reply` is a transport failure (its Status, classified by `failure`) or a non-200 reply.
Status http_error(const std::string& what, const Result<HttpResponse>& reply, HttpFailure failure) {
  if (!reply.is_ok()) {
    const std::string words = transport_error(failure);
    if (words.empty()) return reply.status().with_context(what);
    return Status::io_error(what + ": " + words);
  }
  std::string detail = reply->body.substr(0, 300);
  auto parsed = parse_json(reply->body, "the reply");
  const Json j = parsed.is_ok() ? std::move(*parsed) : Json();
  if (j.is_object() && j.contains("detail") && j["detail"].is_string()) detail = j["detail"];
  if (reply->status == 401) {
    return Status::failed_precondition(what + ": the hub refused the API key");
  }
  return Status::io_error(what + ": HTTP " + std::to_string(reply->status) + ": " + detail);
}

class Round {
 public:
  Round(MemoryService& s, const SyncClientOptions& o)
      : service_(s), options_(o), hub_url_(trim_trailing_slashes(o.hub_url)) {}

  Result<SyncRound> run() {
    MCP_ASSIGN_OR_RETURN(cursor_, load_hub_cursor(service_));
    if (cursor_.url != hub_url_) {
      // Another hub: start over (applying what we already have changes nothing).
      cursor_ = HubCursor{};
      cursor_.url = hub_url_;
    }
    // Our own expired tombstones go too, but only those the hub has acknowledged.
    if (auto purged = service_.purge_expired_tombstones(cursor_.push_seq); !purged.is_ok()) {
      return purged.status();
    }
    Status st = push();
    if (st.is_ok()) st = pull();
    const double now = unix_now();
    if (st.is_ok()) {
      cursor_.last_success_at = now;
      cursor_.last_error.clear();
    } else {
      cursor_.last_error = st.message();
      cursor_.last_error_at = now;
    }
    Status saved = save_hub_cursor(service_, cursor_);
    if (!st.is_ok()) return st;
    if (!saved.is_ok()) return saved;
    return round_;
  }

 private:
  Status push() {
    for (;;) {
      // Our vectors go along when the hub runs our model (its last pull reply said so).
      const bool with_vectors = service_.embedder().worth_shipping() &&
                                cursor_.hub_model == service_.embedder().model_id();
      MCP_ASSIGN_OR_RETURN(auto changed,
                           service_.changed_since(cursor_.push_seq, options_.batch, with_vectors));
      MCP_RETURN_IF_ERROR(send(changed));
      // Acknowledged: advance durably, so a crash from here on does not push it again.
      cursor_.push_seq = changed.next_seq;
      cursor_.last_push_at = unix_now();
      MCP_RETURN_IF_ERROR(save_hub_cursor(service_, cursor_));
      if (!changed.more) return Status::ok();
    }
  }

  // Sends versions in requests of about kMaxPushBytes at most; the conflicts go with the last.
  Status send(const ChangedVersions& changed) {
    const std::vector<Memory>& versions = changed.versions;
    OJson list = OJson::array();
    size_t bytes = 0;
    for (size_t i = 0; i < versions.size(); ++i) {
      OJson v = version_json(versions[i]);
      if (!changed.vectors.empty() && !changed.vectors[i].empty())
        add_vector(v, changed.vectors[i]);
      bytes += v.dump().size();
      list.push_back(std::move(v));
      if (bytes >= kMaxPushBytes && i + 1 < versions.size()) {
        MCP_RETURN_IF_ERROR(post(std::exchange(list, OJson::array()), OJson::array()));
        bytes = 0;
      }
    }
    if (list.empty() && changed.conflicts.empty()) return Status::ok();
    OJson records = OJson::array();
    for (const ConflictRecord& c : changed.conflicts) records.push_back(conflict_record_json(c));
    return post(std::move(list), std::move(records));
  }

  // A request to the hub: its key, its CA, and the round's timeouts. The timeout is how long
  // the hub may stay silent (connecting, or with no byte moving either way), not a limit on
  // the whole exchange: a large batch on a slow link takes its time while it moves.
  HttpRequest hub_request(std::string method, const std::string& path_and_query) const {
    HttpRequest r;
    r.method = std::move(method);
    r.url = hub_url_ + path_and_query;
    r.headers = {{"X-API-Key", options_.api_key}};
    r.ca_file = options_.ca_file;
    r.connect_timeout_ms = options_.timeout_seconds * 1000;
    r.timeout_ms = 0;
    r.low_speed_bytes = 1;
    r.low_speed_seconds = options_.timeout_seconds;
    r.max_response_bytes = kMaxReplyBytes;
    r.follow_redirects = false;  // the key travels in X-API-Key, which a redirect would resend
    return r;
  }

  Status post(OJson list, OJson conflicts) {
    const auto count = static_cast<int64_t>(list.size());
    OJson body = {{"node", service_.node_name()},
                  {"embedding_model", service_.embedder().model_id()},
                  {"versions", std::move(list)}};
    if (!conflicts.empty()) body["conflicts"] = std::move(conflicts);
    HttpRequest request = hub_request("POST", "/api/sync/push");
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = body.dump(-1, ' ', false, OJson::error_handler_t::replace);
    auto r = client_.send(request);
    if (!r.is_ok() || r->status != 200) {
      return http_error("pushing to " + cursor_.url, r, client_.last_failure());
    }
    auto parsed = parse_json(r->body, "the hub's reply");
    if (is_json_too_deep(parsed.status())) {
      return Status::io_error("pushing to " + cursor_.url + ": " + parsed.status().message());
    }
    Json reply = parsed.is_ok() ? std::move(*parsed) : Json();  // malformed: not a sync reply
    if (!reply.is_object() || !reply.contains("applied") || !reply["applied"].is_object()) {
      return Status::io_error("pushing to " + cursor_.url +
                              ": the hub's reply is not a sync reply");
    }
    round_.hub_applied += apply_counts_from_json(reply["applied"]);
    round_.pushed += count;
    cursor_.pushed_total += count;
    note_hub_node(reply);
    return Status::ok();
  }

  // Both replies name the hub; its name goes into status and conflict sources.
  void note_hub_node(const Json& reply) {
    if (reply.contains("hub_node") && reply["hub_node"].is_string())
      cursor_.hub_node = reply["hub_node"];
  }

  Status pull() {
    std::unordered_set<std::string> hub_has;           // during a resync: every hash the hub sent
    if (cursor_.resync_pending) cursor_.pull_seq = 0;  // a resync cut short starts over
    bool acknowledged = false;
    for (;;) {
      std::string path = "/api/sync/pull?since=" + std::to_string(cursor_.pull_seq) +
                         "&limit=" + std::to_string(options_.batch) +
                         "&node=" + url_encode(service_.node_name());
      if (service_.embedder().worth_shipping()) {
        path += "&vectors=" + url_encode(service_.embedder().model_id());
      }
      HttpRequest request = hub_request("GET", path);
      request.retries = kPullRetries;
      auto r = client_.send(request);
      if (!r.is_ok() || r->status != 200) {
        return http_error("pulling from " + cursor_.url, r, client_.last_failure());
      }
      auto parsed = parse_json(r->body, "the hub's reply");
      if (is_json_too_deep(parsed.status())) {
        return Status::io_error("pulling from " + cursor_.url + ": " + parsed.status().message() +
                                " (nothing applied)");
      }
      Json reply = parsed.is_ok() ? std::move(*parsed) : Json();  // malformed: not a sync reply
      if (!reply.is_object() || !reply.contains("versions") || !reply["versions"].is_array() ||
          !reply.contains("next") || !reply["next"].is_number_integer() ||
          (reply.contains("conflicts") && !reply["conflicts"].is_array()) ||
          (reply.contains("purged_seq") && !reply["purged_seq"].is_number_integer())) {
        return Status::io_error("pulling from " + cursor_.url +
                                ": the hub's reply is not a sync reply (nothing applied)");
      }
      if (!cursor_.resync_pending && reply.value("purged_seq", int64_t{0}) > cursor_.pull_seq) {
        // The hub purged deletes made after our cursor: we may hold memories deleted
        // everywhere else. Start over from the beginning and drop what the hub no longer has.
        cursor_.resync_pending = true;
        cursor_.pull_seq = 0;
        MCP_RETURN_IF_ERROR(save_hub_cursor(service_, cursor_));
        continue;
      }
      std::vector<IncomingVersion> versions;
      VersionParseOptions po;  // hashes verified: a hub is not trusted blindly
      const auto model = reply.find("embedding_model");
      cursor_.hub_model =
          model != reply.end() && model->is_string() ? model->get<std::string>() : "";
      if (cursor_.hub_model == service_.embedder().model_id()) {
        po.embedding_dimension = service_.embedder().dimension();
      }
      size_t i = 0;
      for (const Json& v : reply["versions"]) {
        auto parsed = parse_version(v, po);
        if (!parsed.is_ok()) {
          return Status::io_error("pulling from " + cursor_.url + ": version " + std::to_string(i) +
                                  ": " + parsed.status().message() + " (nothing applied)");
        }
        if (cursor_.resync_pending) hub_has.insert(parsed->memory.content_hash);
        versions.push_back(std::move(parsed).value());
        ++i;
      }
      std::vector<ConflictRecord> conflicts;
      for (const Json& c : reply.value("conflicts", Json::array())) {
        auto parsed = parse_conflict(c);
        if (!parsed.is_ok()) {
          return Status::io_error("pulling from " + cursor_.url + ": conflict " +
                                  std::to_string(conflicts.size()) + ": " +
                                  parsed.status().message() + " (nothing applied)");
        }
        conflicts.push_back(std::move(parsed).value());
      }
      const int64_t next = reply["next"];
      const bool more = reply.value("more", false);
      note_hub_node(reply);
      // The versions and the cursor that covers them commit together.
      ApplyOptions ao;
      ao.source = "sync:" + (cursor_.hub_node.empty() ? cursor_.url : cursor_.hub_node);
      ApplyCounts applied;
      Status st = in_transaction([&](HubCursor& c) -> Status {
        MCP_ASSIGN_OR_RETURN(applied, service_.apply_versions(versions, ao));
        MCP_RETURN_IF_ERROR(service_.apply_conflicts(conflicts).status());
        c.pull_seq = next;
        c.last_pull_at = unix_now();
        c.pulled_total += static_cast<int64_t>(versions.size());
        return Status::ok();
      });
      if (!st.is_ok()) return st;
      round_.applied += applied;
      round_.pulled += static_cast<int64_t>(versions.size());
      // One more request after the last batch if it brought something: asking from `next`
      // tells the hub we hold everything before it, so its per-node "behind" is exact after
      // the round.
      if (!more && ((versions.empty() && conflicts.empty()) || std::exchange(acknowledged, true))) {
        return cursor_.resync_pending ? finish_resync(hub_has) : Status::ok();
      }
    }
  }

  // The end of a full resync: what we hold that the hub did not send, and that the hub had
  // been given (not pending here), was purged there: drop it. Pending changes stay and go
  // out with the next push.
  Status finish_resync(const std::unordered_set<std::string>& hub_has) {
    // One write transaction: a memory stored meanwhile by another writer is pending, not gone.
    int64_t dropped = 0;
    Status st = in_transaction([&](HubCursor& c) -> Status {
      constexpr int64_t kBatch = 5000;
      std::unordered_set<std::string> pending;  // hashes changed here since the hub's ack
      for (int64_t seq = c.push_seq;;) {
        MCP_ASSIGN_OR_RETURN(auto changes, service_.changes_since(seq, kBatch));
        for (const Change& ch : changes) pending.insert(ch.content_hash);
        if (static_cast<int64_t>(changes.size()) < kBatch) break;
        seq = changes.back().seq;
      }
      std::vector<std::string> gone;
      ScanOptions all;
      all.tombstones = true;
      auto scanned = service_.scan_memories(all, [&](const Memory& m, std::span<const float>) {
        if (!hub_has.contains(m.content_hash) && !pending.contains(m.content_hash)) {
          gone.push_back(m.content_hash);
        }
        return true;
      });
      if (!scanned.is_ok()) return scanned.status();
      MCP_ASSIGN_OR_RETURN(dropped, service_.drop_versions(gone));
      c.resync_pending = false;
      c.last_resync_at = unix_now();
      return Status::ok();
    });
    if (!st.is_ok()) return st;
    round_.resynced = true;
    round_.dropped = dropped;
    if (dropped > 0) {
      spdlog::info("full resync with {}: removed {} memories the hub had purged", cursor_.url,
                   dropped);
    }
    return Status::ok();
  }

  // Runs `body` on a copy of the cursor in one write transaction with saving it; what the
  // body changes locally came from the hub, so when nothing of ours was pending it is not
  // pushed back. The cursor is replaced only when the transaction commits.
  Status in_transaction(const std::function<Status(HubCursor&)>& body) {
    return service_.write_transaction([&]() -> Status {
      MCP_ASSIGN_OR_RETURN(auto head_before, service_.last_change_seq());
      HubCursor c = cursor_;
      MCP_RETURN_IF_ERROR(body(c));
      if (c.push_seq == head_before) {
        MCP_ASSIGN_OR_RETURN(c.push_seq, service_.last_change_seq());
      }
      MCP_RETURN_IF_ERROR(save_hub_cursor(service_, c));
      cursor_ = c;
      return Status::ok();
    });
  }

  MemoryService& service_;
  const SyncClientOptions& options_;
  const std::string hub_url_;  // without trailing slashes
  HttpClient client_;          // one connection for the round's requests
  HubCursor cursor_;
  SyncRound round_;
};

}  // namespace

std::string describe(const SyncRound& r) {
  return "pushed " + std::to_string(r.pushed) + " (hub: " + std::to_string(r.hub_applied.added) +
         " new, " + std::to_string(r.hub_applied.updated + r.hub_applied.deleted) +
         " changed), pulled " + std::to_string(r.pulled) +
         " (here: " + std::to_string(r.applied.added) + " new, " +
         std::to_string(r.applied.updated + r.applied.deleted) + " changed, " +
         std::to_string(r.applied.conflicts) + " conflicts)";
}

Status check_options(const SyncClientOptions& options) {
  const std::string url = trim_trailing_slashes(options.hub_url);
  if (url.rfind("https://", 0) != 0 && !is_loopback_http_url(url)) {
    return Status::invalid_argument("hub URL " + url +
                                    " must be https:// (plain http only to this machine)");
  }
  if (options.api_key.empty()) {
    return Status::invalid_argument("no API key for the hub (MCP_API_KEY or --api-key-file)");
  }
  return Status::ok();
}

Result<SyncRound> sync_once(MemoryService& service, const SyncClientOptions& options) {
  MCP_RETURN_IF_ERROR(check_options(options));
  return Round(service, options).run();
}

}  // namespace mcpmem
