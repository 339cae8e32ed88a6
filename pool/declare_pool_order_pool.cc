// The declaring unit of declare_pool_order_test.cc.
#include "pool/declare_pool.h"

POOLKIT_DECLARE_POOL(order_test_pool, "order-test", 80);
