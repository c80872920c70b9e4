#pragma once
// Byte-level BPE model: vocabulary (token text -> id), merges with ranks, and the merge loop.
// A pre-token's bytes start as single-byte tokens; the lowest-ranked adjacent pair is merged,
// leftmost first among equal ranks, until no pair has a merge (Hugging Face's BPE::merge_word:
// linked list of symbols + binary heap, stale heap entries skipped). Results of short pieces
// are cached (thread-safe; the cache is cleared when full).
// Pruned vocabulary (keep_only): merges whose result (or either part) is not kept are left out
// of the merge ranks, so BPE never makes a pruned token and goes on with the remaining merges --
// the rule the embedded model's training tokenizer used.
#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tqlib/core/result.hpp"
#include "tqlib/tokenizer/byte_level.hpp"

namespace tqlib::tokenizer {

using token_id = std::uint32_t;

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Token text <-> id, flat: one arena for all texts and an open-addressing index (a 151k-token
// vocabulary loads without 300k small allocations).
class token_table {
 public:
  static constexpr token_id max_vocab = 1u << 24;

  result<void> build(const std::vector<std::pair<std::string, token_id>>& vocab) {
    token_id bound = 0;
    std::size_t bytes = 0;
    for (const auto& [text, id] : vocab) {
      if (id >= max_vocab)
        return make_error(errc::corrupt, "vocabulary token '" + text + "' has id " + std::to_string(id) + ", above the limit of 2^24");
      if (text.empty()) return make_error(errc::corrupt, "vocabulary id " + std::to_string(id) + " has an empty token");
      bound = std::max(bound, id + 1);
      bytes += text.size();
    }
    if (std::uint64_t(bytes) >= (std::uint64_t(1) << 32)) return make_error(errc::corrupt, "vocabulary text is larger than 4 GiB");
    arena_.clear();
    arena_.reserve(bytes);
    start_.assign(bound, 0);
    len_.assign(bound, 0);
    std::size_t cap = 16;
    while (cap < vocab.size() * 2) cap *= 2;
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    count_ = 0;
    for (const auto& [text, id] : vocab) {
      if (len_[id] != 0)
        return make_error(errc::corrupt, "vocabulary id " + std::to_string(id) + " is given to two tokens ('" + std::string(text_of(id)) +
                                             "' and '" + text + "')");
      std::size_t h = std::hash<std::string_view>{}(text) & mask_;
      for (; slots_[h] != 0; h = (h + 1) & mask_)
        if (text_of(slots_[h] - 1) == text) return make_error(errc::corrupt, "vocabulary token '" + text + "' appears twice");
      start_[id] = static_cast<std::uint32_t>(arena_.size());
      len_[id] = static_cast<std::uint32_t>(text.size());
      arena_ += text;
      slots_[h] = id + 1;
      ++count_;
    }
    return {};
  }

  std::optional<token_id> find(std::string_view text) const {
    if (slots_.empty()) return std::nullopt;
    for (std::size_t h = std::hash<std::string_view>{}(text) & mask_; slots_[h] != 0; h = (h + 1) & mask_)
      if (text_of(slots_[h] - 1) == text) return slots_[h] - 1;
    return std::nullopt;
  }
  std::string_view text_of(token_id id) const {
    return id < len_.size() ? std::string_view(arena_).substr(start_[id], len_[id]) : std::string_view();
  }
  std::size_t id_bound() const { return len_.size(); }
  std::size_t size() const { return count_; }

 private:
  std::string arena_;
  std::vector<std::uint32_t> start_, len_;  // by id; len 0: no token
  std::vector<token_id> slots_;             // id + 1, 0 = empty
  std::size_t mask_ = 0, count_ = 0;
};

// (left id, right id) -> (rank, result id), open addressing.
class merge_table {
 public:
  struct entry {
    std::uint64_t key = empty;
    std::uint32_t rank = 0;
    token_id result = 0;
  };
  static constexpr std::uint64_t empty = ~std::uint64_t(0);

  void reserve(std::size_t n) {
    std::size_t cap = 16, shift = 60;
    while (cap < n * 2) cap *= 2, --shift;
    slots_.assign(cap, entry{});
    shift_ = shift;
    count_ = 0;
  }
  // Inserts or overwrites (a pair listed twice keeps its last rank, as tokenizers does).
  void put(token_id a, token_id b, std::uint32_t rank, token_id result) {
    const std::uint64_t k = key(a, b);
    std::size_t h = slot(k);
    for (; slots_[h].key != empty && slots_[h].key != k; h = (h + 1) & (slots_.size() - 1)) {
    }
    if (slots_[h].key == empty) ++count_;
    slots_[h] = entry{k, rank, result};
  }
  const entry* find(token_id a, token_id b) const {
    const std::uint64_t k = key(a, b);
    for (std::size_t h = slot(k); slots_[h].key != empty; h = (h + 1) & (slots_.size() - 1))
      if (slots_[h].key == k) return &slots_[h];
    return nullptr;
  }
  std::size_t size() const { return count_; }
  template <class F>
  void for_each(F&& f) const {
    for (const entry& e : slots_)
      if (e.key != empty) f(token_id(e.key >> 32), token_id(e.key & 0xFFFFFFFFu), e);
  }
 private:
  std::vector<entry> slots_ = std::vector<entry>(16);
  std::size_t shift_ = 60, count_ = 0;
  static std::uint64_t key(token_id a, token_id b) { return (std::uint64_t(a) << 32) | b; }
  std::size_t slot(std::uint64_t k) const { return std::size_t((k * 0x9E3779B97F4A7C15ull) >> shift_); }
};

class bpe_model {
 public:
  static constexpr token_id max_vocab = token_table::max_vocab;

  // vocab: (byte-level token text, id); merges: pairs of token texts, rank = position.
  static result<bpe_model> build(const std::vector<std::pair<std::string, token_id>>& vocab,
                                 const std::vector<std::pair<std::string, std::string>>& merges) {
    bpe_model m;
    TQLIB_TRY(m.tokens_.build(vocab));
    TQLIB_TRY(m.set_byte_tokens());
    std::string joined;
    m.merges_.reserve(merges.size());
    for (std::size_t r = 0; r < merges.size(); ++r) {
      const auto& [a, b] = merges[r];
      auto ia = m.find(a);
      auto ib = m.find(b);
      if (!ia || !ib) {
        return make_error(errc::corrupt, "merge " + std::to_string(r) + " ('" + a + "' '" + b + "') references token '" +
                                             (ia ? b : a) + "' that is not in the vocabulary");
      }
      joined.assign(a).append(b);
      auto inew = m.find(joined);
      if (!inew) {
        return make_error(errc::corrupt, "merge " + std::to_string(r) + " ('" + a + "' '" + b + "') produces '" + joined +
                                             "' that is not in the vocabulary");
      }
      m.merges_.put(*ia, *ib, static_cast<std::uint32_t>(r), *inew);
    }
    return m;
  }

  bpe_model() = default;
  bpe_model(bpe_model&& o) noexcept
      : tokens_(std::move(o.tokens_)), merges_(std::move(o.merges_)), kept_merges_(std::move(o.kept_merges_)),
        keep_(std::move(o.keep_)), byte_ids_(o.byte_ids_) {}
  bpe_model& operator=(bpe_model&& o) noexcept {
    tokens_ = std::move(o.tokens_);
    merges_ = std::move(o.merges_);
    kept_merges_ = std::move(o.kept_merges_);
    keep_ = std::move(o.keep_);
    byte_ids_ = o.byte_ids_;
    std::lock_guard lock(cache_mutex_);
    cache_.clear();
    return *this;
  }

  std::optional<token_id> find(std::string_view token) const { return tokens_.find(token); }
  // Byte-level text of an id ("" for ids with no token).
  std::string_view token(token_id id) const { return tokens_.text_of(id); }
  std::size_t id_bound() const { return tokens_.id_bound(); }  // one past the largest id
  std::size_t size() const { return tokens_.size(); }
  // Merges in use (with a pruned vocabulary: those whose parts and result are kept).
  std::size_t merge_count() const { return keep_.empty() ? merges_.size() : kept_merges_.size(); }
  token_id byte_token(unsigned char b) const { return byte_ids_[b]; }

  // Vocabulary pruning: a merge whose result (or either part) is not kept is dropped from the
  // merge ranks, as if merges.txt did not list it; BPE then runs as usual with the merges left
  // (same ranks), so it never produces a pruned token and never needs to split one; a pruned
  // token is never a part either, since only kept tokens are ever made. This is not "full BPE,
  // then split pruned tokens": for the default model " proposing" gives " propos" + "ing" this way
  // and " pro" + "pos" + "ing" that way. With nothing pruned the tables are identical. The byte
  // tokens must be kept (the caller checks), so any text encodes. The full merge table stays,
  // so keep_only may be called again with another set.
  void keep_only(std::vector<bool> keep) {
    keep.resize(tokens_.id_bound(), false);
    keep_ = std::move(keep);
    kept_merges_ = merge_table();
    std::size_t n = 0;
    merges_.for_each([&](token_id a, token_id b, const merge_table::entry& e) { n += keep_[a] && keep_[b] && keep_[e.result]; });
    kept_merges_.reserve(n);
    merges_.for_each([&](token_id a, token_id b, const merge_table::entry& e) {
      if (keep_[a] && keep_[b] && keep_[e.result]) kept_merges_.put(a, b, e.rank, e.result);
    });
    std::lock_guard lock(cache_mutex_);
    cache_.clear();
  }

  // Appends the ids of one pre-token given as raw bytes.
  void encode_piece(std::string_view bytes, std::vector<token_id>& out) const {
    if (bytes.size() == 1) {
      out.push_back(byte_ids_[static_cast<unsigned char>(bytes[0])]);
      return;
    }
    const bool cacheable = bytes.size() <= max_cached_bytes;
    if (cacheable) {
      std::lock_guard lock(cache_mutex_);
      auto it = cache_.find(bytes);
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const std::size_t start = out.size();
    merge_word(bytes, out);
    if (cacheable) {
      std::lock_guard lock(cache_mutex_);
      if (cache_.size() >= max_cache_entries) cache_.clear();
      cache_.emplace(std::string(bytes), std::vector<token_id>(out.begin() + std::ptrdiff_t(start), out.end()));
    }
  }

 private:
  struct symbol {
    token_id id;
    std::int32_t prev, next;
    bool alive;
  };
  struct candidate {
    std::uint32_t rank;
    std::int32_t pos;
    token_id left, right;
    bool operator>(const candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  static constexpr std::size_t max_cached_bytes = 64;
  static constexpr std::size_t max_cache_entries = 1u << 16;

  token_table tokens_;
  merge_table merges_;       // every merge
  merge_table kept_merges_;  // with keep_: the merges whose parts and result are kept
  std::vector<bool> keep_;   // empty: no pruning
  std::array<token_id, 256> byte_ids_{};
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<token_id>, string_hash, std::equal_to<>> cache_;

  const merge_table::entry* lookup(token_id a, token_id b) const {
    return keep_.empty() ? merges_.find(a, b) : kept_merges_.find(a, b);
  }

  result<void> set_byte_tokens() {
    for (int b = 0; b < 256; ++b) {
      auto id = find(byte_level::get_tables().byte_to_utf8[b]);
      if (!id) {
        static constexpr char hex[] = "0123456789ABCDEF";
        return make_error(errc::corrupt, std::string("vocabulary lacks the byte-level token for byte 0x") + hex[b >> 4] + hex[b & 15] +
                                             " (every byte needs one so any text encodes)");
      }
      byte_ids_[b] = *id;
    }
    return {};
  }

  void merge_word(std::string_view bytes, std::vector<token_id>& out) const {
    thread_local std::vector<symbol> sym;
    thread_local std::vector<candidate> heap;
    sym.clear();
    heap.clear();
    const auto later = [](const candidate& a, const candidate& b) { return a > b; };  // min-heap
    const auto n = static_cast<std::int32_t>(bytes.size());
    for (std::int32_t i = 0; i < n; ++i)
      sym.push_back({byte_ids_[static_cast<unsigned char>(bytes[std::size_t(i)])], i - 1, i + 1 < n ? i + 1 : -1, true});
    auto push_pair = [&](std::int32_t pos) {
      const std::int32_t nx = sym[std::size_t(pos)].next;
      if (nx < 0) return;
      if (const merge_table::entry* m = lookup(sym[std::size_t(pos)].id, sym[std::size_t(nx)].id)) {
        heap.push_back({m->rank, pos, sym[std::size_t(pos)].id, sym[std::size_t(nx)].id});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    };
    for (std::int32_t i = 0; i + 1 < n; ++i) push_pair(i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), later);
      const candidate c = heap.back();
      heap.pop_back();
      symbol& s = sym[std::size_t(c.pos)];
      if (!s.alive || s.next < 0 || s.id != c.left) continue;
      symbol& r = sym[std::size_t(s.next)];
      if (r.id != c.right) continue;
      s.id = lookup(c.left, c.right)->result;
      r.alive = false;
      s.next = r.next;
      if (s.next >= 0) sym[std::size_t(s.next)].prev = c.pos;
      if (s.prev >= 0) push_pair(s.prev);
      push_pair(c.pos);
    }
    for (std::int32_t i = 0; i >= 0; i = sym[std::size_t(i)].next) out.push_back(sym[std::size_t(i)].id);
  }
};

}  // namespace tqlib::tokenizer
