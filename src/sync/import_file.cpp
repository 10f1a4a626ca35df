// Import files: see import_file.h. The JSON is read with nlohmann's SAX parser through a
// buffer that refuses to hold more than one record's worth of bytes, so a 1 GB file streams
// and a 1 GB record fails with a clear error instead of filling RAM.
#include "sync/import_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <istream>
#include <streambuf>
#include <thread>
#include <unordered_map>

#include "core/bounded_queue.h"
#include "core/hlc.h"
#include "core/json_parse.h"
#include "service/version_json.h"

namespace mcpmem {
namespace {

constexpr size_t kApplyBatch = 1000;    // records applied per call (one lookup query each)
constexpr size_t kBatchesInFlight = 4;  // batches read ahead of the writer (bounds memory)
constexpr size_t kMaxErrorsShown = 20;
#ifdef _WIN32
constexpr int kOpenForReading = O_RDONLY | O_BINARY | O_NOINHERIT;  // bytes, not CRLF text
#else
constexpr int kOpenForReading = O_RDONLY | O_CLOEXEC;
#endif

// Reads a file descriptor in 1 MiB chunks and counts the bytes since the last mark(); past
// `limit` it reports end of input, which the parser turns into an error we then explain.
class CountingFileBuf : public std::streambuf {
 public:
  CountingFileBuf(int fd, size_t limit) : fd_(fd), limit_(limit) {}
  int64_t offset() const { return consumed_ + (gptr() - eback()); }
  void mark() { mark_ = offset(); }
  bool over_limit() const { return over_; }
  int read_errno() const { return errno_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    consumed_ += egptr() - eback();
    if (consumed_ - mark_ > static_cast<int64_t>(limit_)) {
      over_ = true;
      return traits_type::eof();
    }
    ssize_t n;
    do {
      n = ::read(fd_, buf_.data(), buf_.size());
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      if (n < 0) errno_ = errno;
      return traits_type::eof();
    }
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  int fd_;
  size_t limit_;
  std::vector<char> buf_ = std::vector<char>(1 << 20);
  int64_t consumed_ = 0;  // bytes of the chunks before the current one
  int64_t mark_ = 0;      // offset where the current record began
  bool over_ = false;
  int errno_ = 0;
};

enum class RecordKind { kMemory, kTombstone };

// SAX events -> the file's top-level values (small) and its records (one at a time).
class RecordReader {
 public:
  using OnRecord = std::function<bool(RecordKind, int64_t index, Json&& record)>;
  RecordReader(CountingFileBuf& buf, OnRecord on_record)
      : buf_(buf), on_record_(std::move(on_record)) {}

  Json header = Json::object();  // top-level keys other than the record arrays
  bool top_is_array = false;
  bool saw_memories = false;
  std::string error;

  bool null() { return value(Json()); }
  bool boolean(bool v) { return value(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return value(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return value(Json(v)); }
  bool number_float(Json::number_float_t v, const std::string&) { return value(Json(v)); }
  bool string(std::string& v) { return value(Json(std::move(v))); }
  bool binary(Json::binary_t&) { return value(Json()); }
  bool key(std::string& k) {
    if (!stack_.empty()) {
      key_ = std::move(k);
    } else if (depth_ == 1) {
      top_key_ = std::move(k);
    }
    return true;
  }
  bool start_object(std::size_t) { return open(Json::object()); }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    if (buf_.over_limit()) {
      error = "record " + std::to_string(index_) + " is larger than the limit of one record";
    } else if (buf_.read_errno() != 0) {
      error = std::string("reading failed: ") + std::strerror(buf_.read_errno());
    } else if (error.empty()) {
      // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 7: ..."
      std::string what = e.what();
      auto at = what.find("] ");
      error = "malformed JSON near byte " + std::to_string(position) + ": " +
              (at == std::string::npos ? what : what.substr(at + 2));
    }
    return false;
  }

 private:
  bool in_records() const { return records_depth_ > 0 && depth_ == records_depth_; }

  // Adds a finished value where the parse is.
  bool value(Json v) {
    if (!stack_.empty()) {
      Json& parent = *stack_.back();
      if (parent.is_array()) {
        parent.push_back(std::move(v));
      } else {
        parent[key_] = std::move(v);
      }
      return true;
    }
    if (in_records()) return emit(std::move(v));
    if (depth_ == 1 && !top_is_array) header[top_key_] = std::move(v);
    if (depth_ == 0) {
      error = "expected an export (an object with \"memories\", or an array of memories)";
      return false;
    }
    return true;
  }

  bool open(Json container) {
    // The same nesting limit as parse_json: a record deeper than that could not be stored or
    // printed without recursing on the file's depth. Stopping here stops the parse.
    if (depth_ >= kMaxJsonDepth) {
      error = std::string(kJsonTooDeep) + " (near byte " + std::to_string(buf_.offset()) + ")";
      return false;
    }
    const bool is_array = container.is_array();
    if (!stack_.empty()) {
      Json& parent = *stack_.back();
      Json* child;
      if (parent.is_array()) {
        parent.push_back(std::move(container));
        child = &parent.back();
      } else {
        child = &(parent[key_] = std::move(container));
      }
      stack_.push_back(child);
    } else if (depth_ == 0) {
      top_is_array = is_array;
      if (is_array) start_records(RecordKind::kMemory, 1);
    } else if (in_records()) {
      captured_ = std::move(container);
      stack_.push_back(&captured_);
      buf_.mark();
    } else if (depth_ == 1 && is_array && (top_key_ == "memories" || top_key_ == "tombstones")) {
      if (top_key_ == "memories") saw_memories = true;
      start_records(top_key_ == "memories" ? RecordKind::kMemory : RecordKind::kTombstone, 2);
    } else {
      captured_ = std::move(container);
      stack_.push_back(&captured_);
    }
    ++depth_;
    return true;
  }

  bool close() {
    --depth_;
    if (!stack_.empty()) {
      stack_.pop_back();
      if (!stack_.empty()) return true;
      if (in_records()) return emit(std::move(captured_));
      if (depth_ == 1) header[top_key_] = std::move(captured_);
      return true;
    }
    if (records_depth_ > 0 && depth_ == records_depth_ - 1) records_depth_ = 0;
    return true;
  }

  void start_records(RecordKind kind, int depth) {
    kind_ = kind;
    records_depth_ = depth;
    index_ = 0;
    buf_.mark();
  }

  bool emit(Json&& record) {
    bool go_on = on_record_(kind_, index_++, std::move(record));
    buf_.mark();
    return go_on;
  }

  CountingFileBuf& buf_;
  OnRecord on_record_;
  int depth_ = 0;
  std::string top_key_, key_;
  int records_depth_ = 0;  // depth inside the array of records, 0 outside one
  RecordKind kind_ = RecordKind::kMemory;
  int64_t index_ = 0;
  Json captured_;
  std::vector<Json*> stack_;
};

std::string string_or(const Json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() && !it->get<std::string>().empty()
             ? it->get<std::string>()
             : fallback;
}

struct HashKey {
  uint64_t a = 0, b = 0;
  bool operator==(const HashKey&) const = default;
};
struct HashKeyHash {
  size_t operator()(const HashKey& k) const { return static_cast<size_t>(k.a ^ (k.b * 31)); }
};
HashKey key_of(const std::string& hex) {
  HashKey k;
  k.a = std::stoull(hex.substr(0, 16), nullptr, 16);
  k.b = std::stoull(hex.substr(16, 16), nullptr, 16);
  return k;
}

// Adds "source:<machine>" to a record of a file made without field versions (the Python
// service's export), before its versions are derived, so every node that imports the file
// derives the same. A record that already names a source gets no second one. Records with field
// versions come from one of our nodes and keep their tags as they are: a tag added here would
// be a write of a version that is not ours to make.
void add_source_tag(Memory& m, const std::string& machine) {
  if (!m.fields.empty()) return;
  for (const std::string& t : m.tags) {
    if (t.rfind("source:", 0) == 0) return;
  }
  if (m.tags.size() == 1 && m.tags[0] == "untagged") m.tags.clear();
  m.tags.push_back("source:" + machine);
}

// Records handed from the thread that reads the file to the one that writes them, so parsing,
// hash checks and embedding overlap with the SQLite writes.
struct Batch {
  std::string source;
  std::vector<IncomingVersion> versions;
};
using BatchQueue = BoundedQueue<Batch>;

// Reads one file into batches (on its own thread): parses and checks each record, adds the
// source tag, embeds it, and fills `report` except for the counts.
class FileReader {
 public:
  FileReader(MemoryService& service, const ImportOptions& options, ImportReport& report,
             BatchQueue& out)
      : service_(service), options_(options), report_(report), out_(out) {}

  // Reads `fd` to the end; the first error, if any, in error().
  void read(int fd) {
    CountingFileBuf buf(fd, options_.max_record_bytes);
    std::istream in(&buf);
    RecordReader reader(buf, [&](RecordKind kind, int64_t index, Json&& record) {
      if (report_.format.empty()) start(reader);
      return add(kind, index, std::move(record));
    });
    try {
      parsed_ = Json::sax_parse(in, &reader);
    } catch (const std::exception& e) {
      parsed_ = false;
      reader.error = e.what();
    }
    if (parsed_ && !stopped_) send();
    error_ = reader.error;
    if (parsed_ && !reader.top_is_array && !reader.saw_memories) {
      parsed_ = false;
      error_ = "not an export: no \"memories\" array";
    }
    if (parsed_ && report_.format.empty()) start(reader);  // an export without records
  }
  bool parsed() const { return parsed_; }
  const std::string& error() const { return error_; }

 private:
  // Reads the header, which comes before the records (as every exporter writes it).
  void start(const RecordReader& reader) {
    const Json& h = reader.header;
    const Json meta = h.value("export_metadata", Json::object());
    if (reader.top_is_array) {
      report_.format = "array";
    } else if (h.contains("export_metadata")) {
      report_.format =
          string_or(meta, "exporter", "").rfind("mcp-memory", 0) == 0 ? "mcp-memory" : "python-cli";
      report_.source_machine = string_or(meta, "source_machine", "");
    } else if (h.contains("export_date")) {
      report_.format = "python-dashboard";
      report_.source_machine = "web-dashboard-export";  // what the Python importer names it
    } else {
      report_.format = "python-cli";
    }
    if (report_.source_machine.empty()) report_.source_machine = "unknown-machine";
    parse_options_.verify_hash = !options_.trust_hashes;
    parse_options_.default_origin = report_.source_machine;
    // The file's embeddings are used only when they come from our model.
    if (string_or(meta, "embedding_model", "") == service_.embedder().model_id()) {
      parse_options_.embedding_dimension = service_.embedder().dimension();
    }
  }

  bool add(RecordKind kind, int64_t index, Json&& record) {
    ++report_.records;
    const int64_t number = record_no_++;
    const std::string where = std::string(kind == RecordKind::kMemory ? "memories" : "tombstones") +
                              "[" + std::to_string(index) + "]";
    if (kind == RecordKind::kTombstone && record.is_object() && !record.contains("deleted_at")) {
      invalid(where, "field 'deleted_at': missing (a tombstone needs its time of deletion)");
      return true;
    }
    auto version = parse_version(record, parse_options_);
    if (!version.is_ok()) {
      invalid(where, version.status().message());
      return true;
    }
    Memory& m = version->memory;
    auto [it, fresh] = seen_.emplace(key_of(m.content_hash), number);
    if (!fresh) {
      invalid(where, "field 'content_hash': " + m.content_hash.substr(0, 12) +
                         "... appears twice in this file (first as record " +
                         std::to_string(it->second) + ")");
      return true;
    }
    const std::string source = string_or(record, "export_source", report_.source_machine);
    if (options_.source_tags && !m.is_deleted()) add_source_tag(m, source);
    if (report_.invalid > 0 && !options_.dry_run) return true;  // nothing will be committed
    const Embedder& embedder = service_.embedder();
    if (!m.is_deleted() && version->embedding.size() != embedder.dimension()) {
      version->embedding.assign(embedder.dimension(), 0.0f);
      // On failure the writer embeds again and reports why.
      if (!embedder.embed(m.content, version->embedding).is_ok()) version->embedding.clear();
    }
    if (source != batch_.source || batch_.versions.size() >= kApplyBatch) {
      if (!send()) return false;
      batch_.source = source;
    }
    batch_.versions.push_back(std::move(version).value());
    return true;
  }

  // Hands the batch to the writer; false once the writer stopped.
  bool send() {
    if (batch_.versions.empty()) return true;
    stopped_ = !out_.push(std::exchange(batch_, Batch{batch_.source, {}}));
    return !stopped_;
  }

  void invalid(const std::string& where, const std::string& why) {
    ++report_.invalid;
    if (report_.errors.size() < kMaxErrorsShown) report_.errors.push_back(where + ": " + why);
  }

  MemoryService& service_;
  const ImportOptions& options_;
  ImportReport& report_;
  BatchQueue& out_;
  VersionParseOptions parse_options_;
  std::unordered_map<HashKey, int64_t, HashKeyHash> seen_;  // hash -> first record number
  int64_t record_no_ = 0;
  Batch batch_;
  bool parsed_ = false, stopped_ = false;
  std::string error_;
};

// One file as a step of the caller's transaction, or as its own. A dry run is rolled back by
// import_files around it; here it only makes the reader go on past invalid records, so that the
// report lists them all.
Status import_one(MemoryService& service, const std::string& path, const ImportOptions& options,
                  ImportReport& report) {
  const bool from_stdin = path == "-";
  int attempts = 0;
  Status tx = service.write_step([&]() -> Status {
    if (attempts++ > 0 && from_stdin) {
      return Status::busy("the database was busy and standard input cannot be read twice");
    }
    report = ImportReport{};
    report.path = path;
    int fd = from_stdin ? 0 : ::open(path.c_str(), kOpenForReading);
    if (fd < 0) return Status::io_error("cannot open " + path + ": " + std::strerror(errno));
    struct Closer {
      int fd;
      bool own;
      ~Closer() {
        if (own) ::close(fd);
      }
    } closer{fd, !from_stdin};

    // This thread writes what the reader thread hands over.
    BatchQueue queue(kBatchesInFlight);
    FileReader reader(service, options, report, queue);
    std::thread reading([&] {
      reader.read(fd);
      queue.finish();
    });
    ApplyOptions ao;
    ao.source = "import:" + path;
    Status failure = Status::ok();
    while (auto batch = queue.pop()) {
      auto counts = service.apply_versions(batch->versions, ao);
      if (!counts.is_ok()) {
        failure = counts.status();
        queue.stop();
        break;
      }
      report.counts += *counts;
      report.by_source[batch->source] += *counts;
    }
    reading.join();
    MCP_RETURN_IF_ERROR(failure);
    if (!reader.parsed()) {
      return Status::invalid_argument(path + ": " + reader.error() +
                                      " (nothing from this file was imported)");
    }
    if (report.invalid > 0) {
      return Status::invalid_argument(path + ": " + std::to_string(report.invalid) +
                                      " invalid record(s), first: " + report.errors.front() +
                                      " (nothing from this file was imported)");
    }
    return Status::ok();
  });
  report.committed = tx.is_ok();
  return tx;
}

}  // namespace

Status import_file(MemoryService& service, const std::string& path, const ImportOptions& options,
                   ImportReport& report) {
  std::vector<ImportReport> reports;
  Status st = import_files(service, {path}, options, reports).front();
  report = std::move(reports.front());
  return st;
}

std::vector<Status> import_files(MemoryService& service, const std::vector<std::string>& paths,
                                 const ImportOptions& options, std::vector<ImportReport>& reports) {
  reports.assign(paths.size(), ImportReport{});
  std::vector<Status> results(paths.size(), Status::ok());
  if (!options.dry_run) {
    for (size_t i = 0; i < paths.size(); ++i) {
      results[i] = import_one(service, paths[i], options, reports[i]);
    }
    return results;
  }
  bool done = false;
  Status group = service.write_transaction([&]() -> Status {
    for (size_t i = 0; i < paths.size(); ++i) {
      results[i] = import_one(service, paths[i], options, reports[i]);
    }
    done = true;
    return Status::failed_precondition("dry run: rolled back");
  });
  for (ImportReport& r : reports) r.committed = false;
  if (!done) {  // the transaction itself failed (a locked database): no file was looked at
    for (Status& r : results) r = group;
  }
  return results;
}

}  // namespace mcpmem
