// For store tests that plant or inspect bytes below the store's own API: raw LMDB calls on
// a closed store's environment. Test-only (gtest assertions).
#pragma once

#include <lmdb.h>

#include <string>

#include "gtest/gtest.h"
#include "store/store.h"

namespace masa::store::testing {

// Runs `fn(txn)` in one write transaction on the environment of the store in `state_dir`
// (the store must be closed) and commits it.
template <typename Fn>
void WithRawEnv(const std::string& state_dir, Fn fn) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 32);
  ASSERT_EQ(mdb_env_open(env, StoreDir(state_dir).c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  fn(txn);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

}  // namespace masa::store::testing
