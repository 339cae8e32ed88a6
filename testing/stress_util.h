// Helpers shared by poolkit's stress and race tests.
#ifndef POOLKIT_TESTING_STRESS_UTIL_H_
#define POOLKIT_TESTING_STRESS_UTIL_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_set>

namespace poolkit::testing {

// POOLKIT_STRESS_SCALE (default 1) scales iteration counts: the arm64
// configs set 0.25 because qemu runs them ~10x slower.
inline double StressScale() {
  const char* text = std::getenv("POOLKIT_STRESS_SCALE");
  if (text == nullptr) return 1.0;
  double scale = std::atof(text);
  return scale > 0 ? scale : 1.0;
}

inline std::size_t Scaled(std::size_t count) {
  std::size_t scaled = static_cast<std::size_t>(count * StressScale());
  return scaled > 0 ? scaled : 1;
}

// A blocking bounded multi-producer multi-consumer queue. Close() wakes
// every waiter; Pop() then drains what is left and returns nullopt.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}

  void Push(T value) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_; });
    items_.push_back(std::move(value));
    not_empty_.notify_one();
  }

  std::optional<T> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return value;
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  const std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

// The objects handed out and not yet freed, by address: an Alloc() that
// returns an address already live is a double hand-out, caught whatever the
// object's contents (the stamp catches only those that were overwritten).
class LiveObjects {
 public:
  // False if `object` was already live.
  bool Insert(void* object) {
    Shard& shard = ShardOf(object);
    std::lock_guard<std::mutex> lock(shard.mutex);
    return shard.objects.insert(object).second;
  }
  // False if `object` was not live.
  bool Erase(void* object) {
    Shard& shard = ShardOf(object);
    std::lock_guard<std::mutex> lock(shard.mutex);
    return shard.objects.erase(object) == 1;
  }

 private:
  struct Shard {
    std::mutex mutex;
    std::unordered_set<void*> objects;
  };
  Shard& ShardOf(void* object) {
    return shards_[(reinterpret_cast<std::uintptr_t>(object) >> 6) % kShards];
  }
  static constexpr std::size_t kShards = 64;
  Shard shards_[kShards];
};

}  // namespace poolkit::testing

#endif  // POOLKIT_TESTING_STRESS_UTIL_H_
