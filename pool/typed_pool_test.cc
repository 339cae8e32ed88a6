#include "pool/typed_pool.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

// Counts constructions and destructions; takes arguments of every kind so
// that forwarding shows: a value, an lvalue reference and a move-only one.
class Counted {
 public:
  static int constructed;
  static int destroyed;
  static void Reset() { constructed = destroyed = 0; }

  Counted(int value, std::string& sink, std::unique_ptr<int> owned)
      : value_(value), sink_(&sink), owned_(std::move(owned)) {
    ++constructed;
  }
  ~Counted() {
    *sink_ += "~";
    ++destroyed;
  }

  int value() const { return value_; }
  std::string* sink() const { return sink_; }
  const std::unique_ptr<int>& owned() const { return owned_; }

 private:
  int value_;
  std::string* sink_;
  std::unique_ptr<int> owned_;
};

int Counted::constructed = 0;
int Counted::destroyed = 0;

class Thrower {
 public:
  static int destroyed;
  explicit Thrower(bool fail) {
    if (fail) throw std::runtime_error("constructor failed");
  }
  ~Thrower() { ++destroyed; }

 private:
  char payload_[40] = {};
};

int Thrower::destroyed = 0;

struct alignas(64) OverAligned {
  unsigned char bytes[64];
};

struct Small {
  int value = 7;
};

template <typename T>
TypedPool<T> MustCreate(const std::string& name, PoolOptions options = {}) {
  absl::StatusOr<TypedPool<T>> pool = TypedPool<T>::Create(name, options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  if (!pool.ok()) std::abort();
  return *pool;
}

TEST(TypedPoolTest, CreateUsesTheTypesSizeAndAlignment) {
  TypedPool<Counted> counted = MustCreate<Counted>("typed-layout");
  EXPECT_EQ(counted.pool()->name(), "typed-layout");
  EXPECT_GE(counted.pool()->object_size(), sizeof(Counted));
  EXPECT_GE(counted.pool()->alignment(), alignof(Counted));
  TypedPool<Small> small = MustCreate<Small>("typed-small");
  EXPECT_GE(small.pool()->object_size(), sizeof(Small));
  Small* s = small.New();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->value, 7);  // value-initialised by the default constructor
  small.Delete(s);
  EXPECT_TRUE(DestroyPool(counted.pool()).ok());
  EXPECT_TRUE(DestroyPool(small.pool()).ok());
}

TEST(TypedPoolTest, CreateReportsInvalidOptions) {
  absl::StatusOr<TypedPool<Counted>> pool =
      TypedPool<Counted>::Create("bad name");
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindPool("bad name"), nullptr);
}

TEST(TypedPoolTest, NewForwardsArgumentsAndDeleteDestroysAndFrees) {
  Counted::Reset();
  TypedPool<Counted> pool = MustCreate<Counted>("typed-forward");
  std::string sink;
  Counted* object = pool.New(42, sink, std::make_unique<int>(9));
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(Counted::constructed, 1);
  EXPECT_EQ(object->value(), 42);
  EXPECT_EQ(object->sink(), &sink);  // the reference, not a copy
  ASSERT_NE(object->owned(), nullptr);
  EXPECT_EQ(*object->owned(), 9);
  EXPECT_EQ(pool.pool()->Stats().in_use, 1);

  pool.Delete(object);
  EXPECT_EQ(Counted::destroyed, 1);
  EXPECT_EQ(sink, "~");
  EXPECT_EQ(pool.pool()->Stats().in_use, 0);
  EXPECT_TRUE(DestroyPool(pool.pool()).ok());
}

TEST(TypedPoolTest, ManyObjectsAreDistinctAndAllComeBack) {
  Counted::Reset();
  TypedPool<Counted> pool = MustCreate<Counted>("typed-many");
  std::string sink;
  std::vector<Counted*> objects;
  for (int i = 0; i < 500; ++i) {
    Counted* object = pool.New(i, sink, nullptr);
    ASSERT_NE(object, nullptr);
    objects.push_back(object);
  }
  for (int i = 0; i < 500; ++i) EXPECT_EQ(objects[i]->value(), i);
  EXPECT_EQ(pool.pool()->Stats().in_use, 500);
  for (Counted* object : objects) pool.Delete(object);
  EXPECT_EQ(Counted::constructed, 500);
  EXPECT_EQ(Counted::destroyed, 500);
  EXPECT_EQ(pool.pool()->Stats().in_use, 0);
  EXPECT_TRUE(DestroyPool(pool.pool()).ok());
}

TEST(TypedPoolTest, ThrowingConstructorPropagatesAndReturnsMemory) {
  Thrower::destroyed = 0;
  TypedPool<Thrower> pool = MustCreate<Thrower>("typed-throw");
  Thrower* kept = pool.New(false);
  ASSERT_NE(kept, nullptr);
  const PoolStats before = pool.pool()->Stats();
  EXPECT_EQ(before.in_use, 1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THROW(pool.New(true), std::runtime_error);
  }
  const PoolStats after = pool.pool()->Stats();
  EXPECT_EQ(after.in_use, before.in_use);
  EXPECT_EQ(after.failed, 0u);
  EXPECT_EQ(Thrower::destroyed, 0);  // never constructed, never destroyed
  pool.Delete(kept);
  EXPECT_EQ(Thrower::destroyed, 1);
  EXPECT_EQ(pool.pool()->Stats().in_use, 0);
  EXPECT_TRUE(DestroyPool(pool.pool()).ok());
}

TEST(TypedPoolTest, NewReturnsNullptrWithoutConstructingWhenPoolIsFull) {
  Counted::Reset();
  PoolOptions options;
  options.limit = 1;
  TypedPool<Counted> pool = MustCreate<Counted>("typed-full", options);
  std::string sink;
  Counted* first = pool.New(1, sink, nullptr);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(pool.New(2, sink, nullptr), nullptr);
  EXPECT_EQ(Counted::constructed, 1);
  EXPECT_EQ(pool.pool()->Stats().limit_failures, 1u);
  PoolPtr<Counted> none = pool.MakeUnique(3, sink, nullptr);
  EXPECT_EQ(none, nullptr);
  EXPECT_EQ(Counted::constructed, 1);
  pool.Delete(first);
  EXPECT_TRUE(DestroyPool(pool.pool()).ok());
}

TEST(TypedPoolTest, MakeUniqueDestroysAndFreesOnReset) {
  Counted::Reset();
  TypedPool<Counted> pool = MustCreate<Counted>("typed-unique");
  std::string sink;
  {
    PoolPtr<Counted> owned = pool.MakeUnique(5, sink, std::make_unique<int>(6));
    ASSERT_NE(owned, nullptr);
    EXPECT_EQ(owned->value(), 5);
    EXPECT_EQ(*owned->owned(), 6);
    EXPECT_EQ(pool.pool()->Stats().in_use, 1);
    EXPECT_EQ(Counted::destroyed, 0);

    PoolPtr<Counted> moved = std::move(owned);
    EXPECT_EQ(owned, nullptr);
    EXPECT_EQ(Counted::destroyed, 0);
    EXPECT_EQ(pool.pool()->Stats().in_use, 1);
  }
  EXPECT_EQ(Counted::destroyed, 1);
  EXPECT_EQ(sink, "~");
  EXPECT_EQ(pool.pool()->Stats().in_use, 0);

  // reset() and an object released then given to Delete().
  PoolPtr<Counted> a = pool.MakeUnique(1, sink, nullptr);
  a.reset();
  EXPECT_EQ(Counted::destroyed, 2);
  PoolPtr<Counted> b = pool.MakeUnique(2, sink, nullptr);
  pool.Delete(b.release());
  EXPECT_EQ(Counted::destroyed, 3);
  EXPECT_EQ(pool.pool()->Stats().in_use, 0);
  EXPECT_TRUE(DestroyPool(pool.pool()).ok());
}

TEST(TypedPoolTest, OverAlignedTypeGetsAlignedObjects) {
  TypedPool<OverAligned> pool = MustCreate<OverAligned>("typed-aligned");
  EXPECT_GE(pool.pool()->alignment(), 64u);
  std::vector<OverAligned*> objects;
  for (int i = 0; i < 200; ++i) {
    OverAligned* object = pool.New();
    ASSERT_NE(object, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(object) % 64, 0u) << i;
    object->bytes[63] = static_cast<unsigned char>(i);
    objects.push_back(object);
  }
  // Recycled objects (through the caches) keep their alignment too.
  for (OverAligned* object : objects) pool.Delete(object);
  for (int i = 0; i < 200; ++i) {
    objects[i] = pool.New();
    ASSERT_NE(objects[i], nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(objects[i]) % 64, 0u) << i;
  }
  for (OverAligned* object : objects) pool.Delete(object);
  EXPECT_TRUE(DestroyPool(pool.pool()).ok());
}

TEST(TypedPoolTest, DeleteNullptrDoesNothing) {
  Counted::Reset();
  TypedPool<Counted> pool = MustCreate<Counted>("typed-null");
  pool.Delete(nullptr);
  PoolDeleter<Counted>()(nullptr);  // default deleter, no pool
  pool.deleter()(nullptr);
  EXPECT_EQ(Counted::destroyed, 0);
  PoolStats stats = pool.pool()->Stats();
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.allocated, 0);
  EXPECT_TRUE(DestroyPool(pool.pool()).ok());
}

TEST(TypedPoolTest, WrapsAnExistingPool) {
  PoolOptions options;
  options.name = "typed-wrap";
  options.object_size = sizeof(Counted);
  absl::StatusOr<Pool*> raw = CreatePool(options);
  ASSERT_TRUE(raw.ok()) << raw.status();
  TypedPool<Counted> pool(*raw);
  EXPECT_EQ(pool.pool(), *raw);
  std::string sink;
  Counted* object = pool.New(3, sink, nullptr);
  ASSERT_NE(object, nullptr);
  EXPECT_EQ((*raw)->Stats().in_use, 1);
  pool.Delete(object);
  EXPECT_TRUE(DestroyPool(*raw).ok());
}

TEST(TypedPoolTest, SharedTypedPoolsMerge) {
  PoolOptions options;
  options.flags = kPoolShared;
  TypedPool<OverAligned> a = MustCreate<OverAligned>("typed-shared-a", options);
  TypedPool<OverAligned> b = MustCreate<OverAligned>("typed-shared-b", options);
  EXPECT_EQ(a.pool(), b.pool());
  EXPECT_EQ(a.pool()->Stats().users, 2);
  EXPECT_TRUE(DestroyPool(b.pool()).ok());
  EXPECT_TRUE(DestroyPool(a.pool()).ok());
}

}  // namespace
}  // namespace poolkit
