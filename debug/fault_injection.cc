#include "debug/fault_injection.h"

#include <cmath>

namespace poolkit::debug {
namespace {

// SplitMix64's finaliser: a bijection with good avalanche, so consecutive
// sequence numbers give independent-looking draws.
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9u;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBu;
  x ^= x >> 31;
  return x;
}

std::uint64_t HashName(std::string_view name) {
  std::uint64_t hash = 0xCBF29CE484222325u;  // FNV-1a
  for (char c : name) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001B3u;
  }
  return hash;
}

}  // namespace

FaultInjector::FaultInjector(double percent, std::uint64_t seed,
                             std::string_view stream)
    : threshold_(percent <= 0     ? 0
                 : percent >= 100 ? (std::uint64_t{1} << 32)
                                  : static_cast<std::uint64_t>(std::llround(
                                        percent / 100.0 * 4294967296.0))),
      key_(Mix(seed ^ Mix(HashName(stream)))) {}

bool FaultInjector::Decide(std::uint64_t k) const {
  std::uint64_t draw = Mix(key_ + k * 0x9E3779B97F4A7C15u) >> 32;
  return draw < threshold_;
}

}  // namespace poolkit::debug
