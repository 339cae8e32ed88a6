#!/usr/bin/env python3
"""Writes the seed corpus of pool_api_fuzzer (testing/fuzz/corpus/).

Each seed is a readable program in the fuzzer's input language (see
pool_api_fuzzer.cc): run this after changing that language.
"""
import os

(CREATE, ALLOC, ALLOC0, FREE, FLUSH, TRIM, GC, DESTROY, SWITCH, STATS, DOUBLE,
 WRONG, ALLOC_BULK, FREE_BULK, RESERVE, FREE_ANY) = (
    0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
HUGE = 4  # kPoolHugePages: the fuzzer puts such pools on spans
SIZE_64 = 4  # index into the fuzzer's kSizes
TAG, INTEGRITY, COLD, POISON, NOCACHE, CALLER, FAIL = 1, 2, 4, 8, 16, 32, 64


def create(name=0, size=SIZE_64, align=0, flags=0, strategy=2, limit=None,
           minavail_huge=False, aids=0, fail=None):
    out = [CREATE, name, size, align, flags, strategy]
    out += [0, limit] if limit is not None else [1]
    out += [0] if minavail_huge else [1, 0]
    out += [aids | (FAIL if fail is not None else 0)]
    if fail is not None:
        out += [fail, 7]
    return out


SEEDS = {
    "double_free": create(aids=TAG | CALLER, minavail_huge=True) +
    [ALLOC, 0, ALLOC, 0, ALLOC, 0, DOUBLE, 1, STATS, 0, FREE, 0, DESTROY, 0],
    "wrong_pool_and_foreign": create(name=1, aids=TAG) + create(name=2, aids=TAG) +
    [ALLOC, 0, ALLOC, 1, WRONG, 0, 0, WRONG, 1, 0, WRONG, 1, 1, STATS, 0,
     STATS, 1],
    "strategies_threads": create(name=1, strategy=0) + create(name=2, strategy=1) +
    create(name=3, strategy=2) + create(name=4, strategy=3) +
    [ALLOC, 0, ALLOC, 1, ALLOC, 2, ALLOC, 3, SWITCH, 1, FREE, 0, FREE, 1,
     ALLOC, 2, SWITCH, 2, FREE, 0, ALLOC0, 3, FLUSH, 1, GC, TRIM, 2, 1,
     SWITCH, 0, STATS, 0, STATS, 1, STATS, 2, STATS, 3, FREE, 0, FREE, 0,
     DESTROY, 3],
    "limit": create(name=5, limit=4) +
    [ALLOC, 0] * 6 + [STATS, 0, FREE, 0, ALLOC, 0, STATS, 0],
    "fault_injection": create(name=6, fail=30) + [ALLOC, 0] * 20 +
    [STATS, 0, FREE, 0, FREE, 0, STATS, 0],
    "invalid_options": [CREATE, 255, SIZE_64, 0, 0, 2, 1, 1, 0, 0] +
    [CREATE, 1, 0, 0, 0, 2, 1, 1, 0, 0] +      # size 0
    [CREATE, 1, SIZE_64, 5, 0, 2, 1, 1, 0, 0] +  # alignment 3
    [CREATE, 1, SIZE_64, 0, 4, 2, 1, 1, 0, 0] +  # unknown flag
    [CREATE, 1, SIZE_64, 0, 0, 4, 1, 1, 0, 0] +  # unknown strategy
    create(name=1, fail=110),
    "debug_aids": create(name=7, aids=COLD | INTEGRITY | POISON | NOCACHE) +
    [ALLOC, 0, ALLOC, 0, ALLOC0, 0, FREE, 0, FREE, 0, ALLOC, 0, STATS, 0,
     FLUSH, 0, STATS, 0],
    "bulk_reserve_spans": create(name=3, flags=HUGE) + create(name=4) +
    [RESERVE, 0, 40, ALLOC_BULK, 0, 30, ALLOC_BULK, 1, 47, STATS, 0,
     STATS, 1, SWITCH, 1, FREE_BULK, 0, 20, FREE_ANY, 0, FREE_BULK, 0, 47,
     ALLOC_BULK, 0, 3, FREE_ANY, 0, RESERVE, 1, 9, STATS, 0, STATS, 1],
    "bulk_limit_and_failures": create(name=5, limit=10) +
    create(name=6, fail=30, flags=HUGE) +
    [ALLOC_BULK, 0, 8, ALLOC_BULK, 0, 8, RESERVE, 0, 20, STATS, 0] +
    [ALLOC_BULK, 1, 5] * 6 + [RESERVE, 1, 30, STATS, 1, FREE_BULK, 0, 40,
                               STATS, 0],
    "merge": create(name=1, flags=1) + create(name=1, flags=1) +
    create(name=2, flags=1) + [ALLOC, 0, DESTROY, 0, DESTROY, 0, STATS, 0,
                               FREE, 0, DESTROY, 0],
}

if __name__ == "__main__":
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(here, exist_ok=True)
    for name, program in SEEDS.items():
        with open(os.path.join(here, name), "wb") as f:
            f.write(bytes(program))
    print("wrote %d seeds to %s" % (len(SEEDS), here))
