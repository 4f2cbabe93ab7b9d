// For store tests that plant or inspect bytes below the store's own API: raw LMDB calls on
// a closed store's environment. Test-only (gtest assertions).
#pragma once

#include <lmdb.h>

#include <string>
#include <utility>
#include <vector>

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

// Every (key, value) of the named database `db`, in key order, read in `txn`.
inline std::vector<std::pair<std::string, std::string>> RawEntries(MDB_txn* txn, const char* db) {
  std::vector<std::pair<std::string, std::string>> out;
  MDB_dbi dbi;
  EXPECT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0) << db;
  MDB_cursor* c = nullptr;
  EXPECT_EQ(mdb_cursor_open(txn, dbi, &c), 0) << db;
  if (c == nullptr) return out;
  MDB_val k, d;
  for (int rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
    out.emplace_back(std::string(static_cast<char*>(k.mv_data), k.mv_size),
                     std::string(static_cast<char*>(d.mv_data), d.mv_size));
  }
  mdb_cursor_close(c);
  return out;
}

}  // namespace masa::store::testing
